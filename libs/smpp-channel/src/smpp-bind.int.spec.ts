import pino from 'pino';
import { encodeMessage } from './message-encoding';
import { SmppBind, type DeliverSmAck, type SmppBindEvents, type SmppBindOptions } from './smpp-bind';
import { SmppStatus } from './smpp-facade';
import { SmppBindLostError, SmppBindRejectedError, SmppSubmitRejectedError, SmppValidityElapsedError } from './smpp.errors';
import { SmscSimulator, type SmscSimulatorOptions } from './smsc-simulator';

const logger = pino({ level: 'silent' });
const credentials = { systemId: 'reach', password: 'secret' };

let simulator: SmscSimulator | null = null;
const binds: SmppBind[] = [];

afterEach(async () => {
  await Promise.all(binds.splice(0).map((b) => b.close()));
  await simulator?.close();
  simulator = null;
});

async function setUp(sim: Partial<SmscSimulatorOptions> = {}, bind: Partial<SmppBindOptions> = {}): Promise<{ smsc: SmscSimulator; client: SmppBind }> {
  const smsc = await SmscSimulator.start({ ...credentials, ...sim });
  simulator = smsc;
  const client = new SmppBind({
    host: '127.0.0.1',
    port: smsc.port,
    ...credentials,
    logger,
    reconnect: { initialDelayMs: 50, maxDelayMs: 400 },
    enquireLinkIntervalMs: 1000,
    responseTimeoutMs: 2000,
    ...bind,
  });
  binds.push(client);
  await client.start();
  return { smsc, client };
}

/** The next event's value; a receipt or MO is acknowledged at once. */
function next<K extends keyof SmppBindEvents>(client: SmppBind, event: K): Promise<SmppBindEvents[K][0]> {
  return new Promise((resolve) =>
    client.once(event, ((value: SmppBindEvents[K][0], ack?: DeliverSmAck) => {
      ack?.();
      resolve(value);
    }) as never),
  );
}

function collect<K extends keyof SmppBindEvents>(client: SmppBind, event: K, count: number): Promise<SmppBindEvents[K][0][]> {
  const seen: SmppBindEvents[K][0][] = [];
  return new Promise((resolve) => {
    const listener = ((value: SmppBindEvents[K][0], ack?: DeliverSmAck) => {
      ack?.();
      seen.push(value);
      if (seen.length === count) {
        client.off(event, listener);
        resolve(seen);
      }
    }) as never;
    client.on(event, listener);
  });
}

async function waitFor(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('SmppBind against the SMSC simulator', () => {
  it('binds, submits a GSM-7 message and receives a delivered receipt with dlrDate', async () => {
    const { smsc, client } = await setUp();
    expect(client.state).toBe('bound');
    const receipt = next(client, 'receipt');
    const { messageIds } = await client.submit({ source: '+15550001', destination: '+15550002', body: 'Hello {world}' });
    expect(messageIds).toHaveLength(1);
    expect(await receipt).toMatchObject({ kind: 'final', messageId: messageIds[0], outcome: 'delivered', stat: 'DELIVRD', err: '000' });
    expect((await receipt).dlrDate).toMatch(/^\d{10}$/);
    expect(smsc.submits[0]).toMatchObject({ dataCoding: 0, esmClass: 0, registeredDelivery: 1, udh: [], text: 'Hello {world}', destination: '+15550002' });
  });

  it('sends multi-part GSM-7 with UDH and the UDHI bit', async () => {
    const { smsc, client } = await setUp();
    const receipts = collect(client, 'receipt', 2);
    const { messageIds } = await client.submit({ source: '1', destination: '2', body: 'a'.repeat(161) });
    expect(messageIds).toHaveLength(2);
    expect(smsc.submits.map((s) => s.dataCoding)).toEqual([0, 0]);
    expect(smsc.submits.map((s) => s.esmClass & 0x40)).toEqual([0x40, 0x40]);
    const [first, second] = smsc.submits.map((s) => s.udh[0] ?? '');
    expect(first).toMatch(/^0003[0-9a-f]{2}0201$/);
    expect(second?.slice(0, 6)).toBe(first?.slice(0, 6));
    expect(second).toMatch(/0202$/);
    expect(smsc.submits.map((s) => s.text.length)).toEqual([153, 8]);
    expect((await receipts).map((r) => r.messageId).sort()).toEqual([...messageIds].sort());
  });

  it('sends multi-part UCS-2 with data_coding 8, never splitting an emoji', async () => {
    const { smsc, client } = await setUp();
    const body = 'Привет 😀 '.repeat(10);
    const { messageIds } = await client.submit({ source: '1', destination: '2', body });
    expect(messageIds).toHaveLength(2);
    expect(smsc.submits.map((s) => s.dataCoding)).toEqual([8, 8]);
    expect(smsc.submits.every((s) => s.udh.length === 1)).toBe(true);
    expect(smsc.submits.map((s) => s.text).join('')).toBe(body);
  });

  it.each([
    ['undelivered', 'UNDELIV'],
    ['expired', 'EXPIRED'],
  ] as const)('maps %s receipts to undelivered', async (dlrOutcome, stat) => {
    const { client } = await setUp({ dlrOutcome, dlrDelayMs: 20 });
    const receipt = next(client, 'receipt');
    await client.submit({ source: '1', destination: '2', body: 'hi' });
    expect(await receipt).toMatchObject({ outcome: 'undelivered', stat });
  });

  it('rejects bad credentials with a typed bind error and stays closed', async () => {
    const smsc = await SmscSimulator.start(credentials);
    simulator = smsc;
    const client = new SmppBind({ host: '127.0.0.1', port: smsc.port, systemId: 'reach', password: 'wrong', logger });
    binds.push(client);
    const error = await client.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SmppBindRejectedError);
    expect((error as SmppBindRejectedError).commandStatus).toBe(0x0e);
    expect(client.state).toBe('closed');
  });

  it('fails an in-flight submit with SmppBindLostError on a drop, reconnects and submits again', async () => {
    const { smsc, client } = await setUp({ submitRespDelayMs: 5000 });
    const inFlight = client.submit({ source: '1', destination: '2', body: 'lost' });
    await waitFor(() => smsc.submits.length === 1);
    const reconnecting = next(client, 'state');
    smsc.dropAll();
    await expect(inFlight).rejects.toBeInstanceOf(SmppBindLostError);
    expect(await reconnecting).toBe('connecting');
    await expect(client.submit({ source: '1', destination: '2', body: 'now' })).rejects.toBeInstanceOf(SmppBindLostError);
    await waitFor(() => client.state === 'bound');
    expect(smsc.bindCount).toBe(2);
    smsc.submitRespDelayMs = 0;
    await expect(client.submit({ source: '1', destination: '2', body: 'again' })).resolves.toMatchObject({ messageIds: [expect.any(String)] });
  });

  it('never has more than the window outstanding', async () => {
    const { smsc, client } = await setUp({ submitRespDelayMs: 100 }, { windowSize: 5, throughputPerSecond: 10_000 });
    const submits = Array.from({ length: 30 }, (_, i) => client.submit({ source: '1', destination: '2', body: `m${i}` }));
    await waitFor(() => client.outstanding === 5);
    await Promise.all(submits);
    expect(smsc.submits).toHaveLength(30);
    expect(smsc.peakOutstanding).toBe(5);
  });

  it('respects the throughput cap', async () => {
    const rate = 20;
    const { smsc, client } = await setUp({}, { throughputPerSecond: rate });
    const started = Date.now();
    await Promise.all(Array.from({ length: 50 }, (_, i) => client.submit({ source: '1', destination: '2', body: `t${i}` })));
    const elapsed = Date.now() - started;
    // 50 submits at 20/s with a burst of 2: at least ~2.4 s; allow margin both ways.
    expect(elapsed).toBeGreaterThanOrEqual(2000);
    const firstSecond = smsc.submits.filter((s) => s.receivedAt - started < 1000).length;
    expect(firstSecond).toBeLessThanOrEqual(rate * 1.1 + 2);
  });

  it('delivers MO messages as events, reassembling concatenated ones', async () => {
    const { smsc, client } = await setUp();
    const short = next(client, 'mo');
    smsc.injectMo({ source: '+15550009', destination: '+15550001', text: 'STOP' });
    expect(await short).toMatchObject({ source: '+15550009', destination: '+15550001', text: 'STOP', dataCoding: 0, concatenation: null, sourceTon: 1 });
    const long = next(client, 'mo');
    const body = 'Ответ '.repeat(20);
    smsc.injectMo({ source: '+15550009', destination: '+15550001', text: body });
    expect(await long).toMatchObject({ text: body, dataCoding: 8, concatenation: { total: 2 } });
  });

  it('reports each part on its own: after a drop only the parts without a resp are sent again, with the same UDH reference', async () => {
    const { smsc, client } = await setUp();
    // Parts 2 and 3 reach the SMSC but their resps never come back.
    smsc.submitPolicy = (submit) => (submit.udh[0]?.endsWith('01') ? undefined : { hold: true });
    const message = encodeMessage('p'.repeat(400), client.nextReference());
    expect(message.parts).toHaveLength(3);
    const first = client.submitParts({ source: '1', destination: '2', message });
    await waitFor(() => smsc.submits.length === 3);
    smsc.dropAll();
    const results = await first;
    expect(results[0]).toMatchObject({ seq: 1, ok: true, messageId: smsc.submits[0]?.messageId });
    expect(results.slice(1)).toEqual([
      { seq: 2, ok: false, error: expect.any(SmppBindLostError) },
      { seq: 3, ok: false, error: expect.any(SmppBindLostError) },
    ]);
    smsc.submitPolicy = null;
    await waitFor(() => client.state === 'bound');
    const again = await client.submitParts({ source: '1', destination: '2', message, parts: [2, 3] });
    expect(again.map((r) => r.ok && r.seq)).toEqual([2, 3]);
    const udh = smsc.submits.map((s) => s.udh[0] ?? '');
    expect(udh.map((u) => u.slice(-2))).toEqual(['01', '02', '03', '02', '03']);
    expect(new Set(udh.map((u) => u.slice(0, 6))).size).toBe(1);
  });

  it('drops and re-binds a connection whose SMSC keeps the link alive but never answers a submit_sm', async () => {
    const { smsc, client } = await setUp({}, { responseTimeoutMs: 300, enquireLinkIntervalMs: 100 });
    smsc.submitPolicy = () => ({ hold: true });
    const started = Date.now();
    const results = await client.submitParts({ source: '1', destination: '2', message: encodeMessage('held', client.nextReference()) });
    expect(results).toEqual([{ seq: 1, ok: false, error: expect.any(SmppBindLostError) }]);
    // Not before the timeout (enquire_links were answered all along), and not long after it.
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(Date.now() - started).toBeLessThan(2000);
    smsc.submitPolicy = null;
    await waitFor(() => client.state === 'bound');
    expect(smsc.bindCount).toBe(2);
    const again = await client.submitParts({ source: '1', destination: '2', message: encodeMessage('held', client.nextReference()) });
    expect(again).toEqual([{ seq: 1, ok: true, messageId: expect.any(String) }]);
  });

  it('tells each part’s outcome the moment its resp arrives, before a receipt that follows it', async () => {
    const { smsc, client } = await setUp();
    smsc.submitPolicy = (_, index) => (index === 1 ? { delayMs: 300 } : undefined);
    const seen: string[] = [];
    client.on('receipt', (receipt, ack) => {
      seen.push(`receipt ${receipt.messageId}`);
      ack();
    });
    const message = encodeMessage('q'.repeat(200), client.nextReference());
    let settled = false;
    const results = client.submitParts({ source: '1', destination: '2', message, onPart: (r) => seen.push(`part ${r.seq} ${r.ok ? r.messageId : 'failed'}`) });
    void results.then(() => (settled = true));
    await waitFor(() => seen.length === 2);
    const first = smsc.submits[0]?.messageId;
    expect(seen).toEqual([`part 1 ${first}`, `receipt ${first}`]);
    expect(settled).toBe(false);
    await results;
    expect(seen[2]).toBe(`part 2 ${smsc.submits[1]?.messageId}`);
  });

  it('sends the time left as a relative validity_period, and does not send a part whose validity is over', async () => {
    const { smsc, client } = await setUp();
    const message = encodeMessage('valid', client.nextReference());
    const expiresAt = new Date(Date.now() + 3_600_000);
    expect(await client.submitParts({ source: '1', destination: '2', message, expiresAt })).toEqual([{ seq: 1, ok: true, messageId: expect.any(String) }]);
    const validity = smsc.submits[0]?.validityPeriod?.getTime() ?? 0;
    expect(Math.abs(validity - expiresAt.getTime())).toBeLessThan(5000);
    const past = new Date(Date.now() - 1);
    expect(await client.submitParts({ source: '1', destination: '2', message, expiresAt: past })).toEqual([
      { seq: 1, ok: false, error: expect.any(SmppValidityElapsedError) },
    ]);
    expect(smsc.submits).toHaveLength(1);
  });

  it('pauses submits after ESME_RTHROTTLED and reports the part as a transient rejection', async () => {
    const { smsc, client } = await setUp({}, { throttlePauseMs: 300 });
    smsc.submitPolicy = (_, index) => (index === 0 ? { commandStatus: SmppStatus.ESME_RTHROTTLED } : undefined);
    const throttled = await client.submit({ source: '1', destination: '2', body: 'too fast' }).catch((e: unknown) => e);
    expect(throttled).toBeInstanceOf(SmppSubmitRejectedError);
    expect((throttled as SmppSubmitRejectedError).transient).toBe(true);
    expect((throttled as SmppSubmitRejectedError).message).toContain('ESME_RTHROTTLED');
    const started = Date.now();
    await client.submit({ source: '1', destination: '2', body: 'later' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it('answers a receipt only when the listener acknowledges it, and the SMSC re-sends one answered with a temporary error', async () => {
    const { smsc, client } = await setUp({ redeliverDelayMs: 50 });
    const acks: DeliverSmAck[] = [];
    client.on('receipt', (_receipt, ack) => acks.push(ack));
    const { messageIds } = await client.submit({ source: '1', destination: '2', body: 'ack me' });
    await waitFor(() => acks.length === 1);
    await new Promise((r) => setTimeout(r, 50));
    expect(smsc.deliveries).toEqual([{ kind: 'receipt', subject: messageIds[0], commandStatus: null, attempt: 1 }]);
    acks[0]?.(SmppStatus.ESME_RX_T_APPN);
    await waitFor(() => acks.length === 2);
    acks[1]?.();
    acks[1]?.(SmppStatus.ESME_RX_P_APPN); // only the first answer counts
    await waitFor(() => smsc.deliveries[1]?.commandStatus === 0);
    expect(smsc.deliveries.map((d) => [d.commandStatus, d.attempt])).toEqual([
      [SmppStatus.ESME_RX_T_APPN, 1],
      [0, 2],
    ]);
  });

  it('answers every part of a concatenated MO only when the whole message is acknowledged', async () => {
    const { smsc, client } = await setUp();
    let ack: DeliverSmAck | null = null;
    client.on('mo', (_mo, a) => (ack = a));
    smsc.injectMo({ source: '15550009', destination: '15550001', text: 'x'.repeat(300) });
    await waitFor(() => ack !== null);
    expect(smsc.deliveries.map((d) => d.commandStatus)).toEqual([null, null]);
    (ack as DeliverSmAck | null)?.();
    await waitFor(() => smsc.deliveries.every((d) => d.commandStatus === 0));
  });

  it('answers a held MO part on its own after the hold time', async () => {
    const { smsc, client } = await setUp({}, { moPartHoldMs: 400 });
    const mos: unknown[] = [];
    client.on('mo', (mo, ack) => {
      mos.push(mo);
      ack();
    });
    // The first of two parts only: the second never comes.
    smsc.injectMo({ source: '15550009', destination: '15550001', text: 'y'.repeat(200), parts: [1] });
    await waitFor(() => smsc.deliveries.length === 1);
    expect(smsc.deliveries[0]?.commandStatus).toBeNull();
    await waitFor(() => smsc.deliveries[0]?.commandStatus === 0);
    expect(mos).toEqual([]);
  });

  it('accepts receipts at once when nobody listens', async () => {
    const { smsc, client } = await setUp();
    await client.submit({ source: '1', destination: '2', body: 'nobody listens' });
    await waitFor(() => smsc.deliveries[0]?.commandStatus === 0);
  });
});
