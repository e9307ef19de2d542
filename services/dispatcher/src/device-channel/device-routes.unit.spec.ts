import pino from 'pino';
import type { DeviceBinding } from './device-channel.ports';
import { NumberPresence } from './device-presence';
import { DeviceRoutes, resolveInboundNumber } from './device-routes';

const logger = pino({ level: 'silent' });
const A = '+15550001111';
const B = '+15550001112';

describe('resolveInboundNumber', () => {
  const two = [
    { e164: A, simSlot: 0 },
    { e164: B, simSlot: 1 },
  ];

  it('takes the frame’s `to` only when it is one of the device’s numbers', () => {
    expect(resolveInboundNumber(two, B)).toBe(B);
    expect(resolveInboundNumber(two, '+15559990000')).toBeNull();
    expect(resolveInboundNumber(two, '+15559990000', 0)).toBeNull();
  });

  it('takes the number bound to the SIM slot', () => {
    expect(resolveInboundNumber(two, undefined, 1)).toBe(B);
    expect(resolveInboundNumber(two, undefined, 2)).toBeNull();
  });

  it('takes the device’s only number, unless the SMS came in on another slot than its own', () => {
    expect(resolveInboundNumber([{ e164: A, simSlot: null }])).toBe(A);
    expect(resolveInboundNumber([{ e164: A, simSlot: null }], undefined, 1)).toBe(A);
    expect(resolveInboundNumber([{ e164: A, simSlot: 0 }], undefined, 1)).toBeNull();
    expect(resolveInboundNumber(two)).toBeNull();
    expect(resolveInboundNumber([])).toBeNull();
  });
});

describe('NumberPresence', () => {
  it('writes each number’s changes in order and reconciles only what differs', async () => {
    const writes: string[] = [];
    const presence = new NumberPresence(async (e164, online) => {
      await new Promise((resolve) => setTimeout(resolve, online ? 5 : 1));
      writes.push(`${e164} ${online}`);
    }, logger);
    presence.publish(A, true);
    presence.publish(A, false);
    presence.publish(A, true);
    await presence.idle();
    expect(writes).toEqual([`${A} true`, `${A} false`, `${A} true`]);

    writes.length = 0;
    presence.reconcile(new Map([[A, true], [B, false]]));
    await presence.idle();
    expect(writes).toEqual([`${B} false`]);

    writes.length = 0;
    presence.reconcile(new Map([[B, false]])); // A is no longer bound: it goes offline
    await presence.idle();
    expect(writes).toEqual([`${A} false`]);
  });

  it('retries a failed write at the next reconcile', async () => {
    let fail = true;
    const writes: string[] = [];
    const presence = new NumberPresence(async (e164, online) => {
      if (fail) throw new Error('kv unavailable');
      writes.push(`${e164} ${online}`);
    }, logger);
    presence.publish(A, true);
    await presence.idle();
    fail = false;
    presence.reconcile(new Map([[A, true]]));
    await presence.idle();
    expect(writes).toEqual([`${A} true`]);
  });
});

describe('DeviceRoutes', () => {
  const binding = (e164: string, deviceId: string): DeviceBinding => ({ e164, accountId: 'acc-1', deviceId, simSlot: null, sendsPerMinute: 30 });

  it('shares one read among concurrent refreshes and keeps the table when a read fails', async () => {
    let reads = 0;
    let rows: DeviceBinding[] = [binding(A, 'dev-a'), binding(B, 'dev-a')];
    let failing = false;
    const routes = new DeviceRoutes(
      async () => {
        reads += 1;
        if (failing) throw new Error('db down');
        return rows;
      },
      1000,
      () => undefined,
      logger,
    );
    expect(await Promise.all([routes.refresh(), routes.refresh()])).toEqual([true, true]);
    expect(reads).toBe(1);
    expect(routes.numbersOf('dev-a').map((b) => b.e164)).toEqual([A, B]);
    failing = true;
    rows = [];
    expect(await routes.refresh()).toBe(false);
    expect(routes.binding(A)?.deviceId).toBe('dev-a');
    routes.stop();
    expect(await routes.refreshForMiss()).toBe(false);
  });
});
