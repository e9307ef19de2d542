import pino from 'pino';
import { natsNames } from '@reach/contracts';
import { eventually, testNamespace, testUrls } from '@reach/testing';
import type { NatsConnection, StoredMsg } from 'nats';
import { DeadLetterHeader } from './dead-letter';
import { runDurableConsumer, type ConsumedMessage, type DurableConsumer, type DurableConsumerOptions, type HandlerOutcome } from './durable-consumer';
import { deleteTopology, ensureTopology } from './jetstream-topology';
import { connectNats, drainNats } from './nats-connection';
import { isStreamNotFound } from './nats-errors';

const logger = pino({ level: process.env['LOG_LEVEL'] ?? 'silent' });
const encoder = new TextEncoder();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const ack: HandlerOutcome = { kind: 'ack' };

interface Delivery {
  readonly n: number;
  readonly deliveryCount: number;
  readonly streamSequence: number;
  readonly at: number;
}

describe('runDurableConsumer', () => {
  const names = natsNames(testNamespace());
  let nc: NatsConnection;
  let running: DurableConsumer[] = [];
  let caseNumber = 0;

  beforeAll(async () => {
    nc = await connectNats({ url: testUrls.nats, name: 'messaging-consumer-test', logger });
    await ensureTopology(nc, names);
  });

  afterEach(async () => {
    await Promise.all(running.map((consumer) => consumer.stop()));
    running = [];
  });

  afterAll(async () => {
    await deleteTopology(nc, names);
    await drainNats(nc);
  });

  /** Each test reads its own subject with its own durable, so tests share nothing but the stream. */
  function newCase() {
    caseNumber += 1;
    const subject = names.eventSubject(`Case${caseNumber}`);
    const durable = names.consumerName('test', `case${caseNumber}`);
    const deliveries: Delivery[] = [];
    return {
      subject,
      durable,
      deliveries,
      async publish(...ns: number[]): Promise<void> {
        const js = nc.jetstream();
        for (const n of ns) await js.publish(subject, encoder.encode(JSON.stringify({ n })));
      },
      record(msg: ConsumedMessage): Delivery {
        const delivery = { n: msg.json<{ n: number }>().n, deliveryCount: msg.deliveryCount, streamSequence: msg.streamSequence, at: Date.now() };
        deliveries.push(delivery);
        return delivery;
      },
      async start(handler: DurableConsumerOptions['handler'], options: Partial<DurableConsumerOptions> = {}): Promise<DurableConsumer> {
        const consumer = await runDurableConsumer(nc, {
          names,
          stream: names.eventsStream,
          durable,
          filterSubjects: [subject],
          logger,
          backoffMs: [100, 200],
          ackWaitMs: 5_000,
          handler,
          ...options,
        });
        running.push(consumer);
        return consumer;
      },
      async stop(consumer: DurableConsumer): Promise<void> {
        await consumer.stop();
        running = running.filter((other) => other !== consumer);
      },
      async info() {
        const jsm = await nc.jetstreamManager();
        return jsm.consumers.info(names.eventsStream, durable);
      },
      async deadLetter(): Promise<StoredMsg | undefined> {
        const jsm = await nc.jetstreamManager();
        try {
          return await jsm.streams.getMessage(names.deadLetterStream, { last_by_subj: names.deadLetterSubject(durable) });
        } catch (error) {
          // A subject without messages answers "no message found".
          if (isStreamNotFound(error)) throw error;
          return undefined;
        }
      },
    };
  }

  it('acks handled messages', async () => {
    const c = newCase();
    await c.start(async (msg) => (c.record(msg), ack));
    await c.publish(1, 2, 3);
    await eventually(async () => (c.deliveries.length === 3 ? true : undefined));
    await eventually(async () => {
      const info = await c.info();
      return info.num_ack_pending === 0 && info.num_pending === 0 && info.ack_floor.stream_seq === c.deliveries[2]?.streamSequence ? true : undefined;
    });
    expect(c.deliveries.map((d) => [d.n, d.deliveryCount])).toEqual([
      [1, 1],
      [2, 1],
      [3, 1],
    ]);
  });

  it('redelivers a retried message after the requested delay', async () => {
    const c = newCase();
    await c.start(async (msg) => {
      const delivery = c.record(msg);
      return delivery.deliveryCount === 1 ? { kind: 'retry', delayMs: 400, reason: 'downstream busy' } : ack;
    });
    await c.publish(1);
    await eventually(async () => (c.deliveries.length === 2 ? true : undefined));
    const [first, second] = c.deliveries;
    expect(second?.deliveryCount).toBe(2);
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(350);
    await eventually(async () => ((await c.info()).num_ack_pending === 0 ? true : undefined));
  });

  it('retries a handler that throws, with the backoff delay', async () => {
    const c = newCase();
    await c.start(
      async (msg) => {
        const delivery = c.record(msg);
        if (delivery.deliveryCount < 3) throw new Error('database unavailable');
        return ack;
      },
      { backoffMs: [150, 300] },
    );
    await c.publish(1);
    await eventually(async () => (c.deliveries.length === 3 ? true : undefined));
    const [first, second, third] = c.deliveries;
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(120);
    expect(third!.at - second!.at).toBeGreaterThanOrEqual(250);
    expect(third?.deliveryCount).toBe(3);
    await eventually(async () => ((await c.info()).num_ack_pending === 0 ? true : undefined));
    expect(await c.deadLetter()).toBeUndefined();
  });

  it('dead-letters a message after maxDeliveries and does not deliver it again', async () => {
    const c = newCase();
    await c.start(async (msg) => (c.record(msg), { kind: 'retry', delayMs: 50, reason: 'carrier says no' }), { maxDeliveries: 3 });
    await c.publish(7);
    const dead = await eventually(() => c.deadLetter());
    expect(c.deliveries.map((d) => d.deliveryCount)).toEqual([1, 2, 3]);
    expect(dead.json()).toEqual({ n: 7 });
    expect(dead.header.get(DeadLetterHeader.reason)).toContain('carrier says no');
    expect(dead.header.get(DeadLetterHeader.deliveryCount)).toBe('3');
    expect(dead.header.get(DeadLetterHeader.subject)).toBe(c.subject);
    expect(dead.header.get(DeadLetterHeader.consumer)).toBe(c.durable);
    expect(dead.header.get(DeadLetterHeader.streamSequence)).toBe(String(c.deliveries[0]?.streamSequence));
    expect(dead.header.get('Nats-Msg-Id')).toBe(`${c.durable}:${c.deliveries[0]?.streamSequence}`);
    await sleep(500);
    expect(c.deliveries).toHaveLength(3);
    const info = await c.info();
    expect(info.num_ack_pending).toBe(0);
    expect(info.num_redelivered).toBe(0);
  });

  it('dead-letters a message whose last allowed delivery never finished (a crash)', async () => {
    const c = newCase();
    let release!: () => void;
    const hung = new Promise<void>((resolve) => (release = resolve));
    await c.start(
      async (msg) => {
        c.record(msg);
        await hung;
        return ack;
      },
      { maxDeliveries: 1, ackWaitMs: 1_000, concurrency: 2 },
    );
    await c.publish(9);
    const dead = await eventually(() => c.deadLetter());
    release();
    expect(c.deliveries).toHaveLength(1);
    expect(dead.header.get(DeadLetterHeader.deliveryCount)).toBe('2');
    expect(dead.header.get(DeadLetterHeader.reason)).toContain('more than the 1 allowed');
  });

  it('dead-letters a rejected message at once', async () => {
    const c = newCase();
    await c.start(async (msg) => (c.record(msg), { kind: 'reject', reason: 'payload does not parse' }));
    await c.publish(4);
    const dead = await eventually(() => c.deadLetter());
    expect(dead.header.get(DeadLetterHeader.reason)).toBe('payload does not parse');
    expect(dead.header.get(DeadLetterHeader.deliveryCount)).toBe('1');
    expect(c.deliveries).toHaveLength(1);
    await eventually(async () => ((await c.info()).num_ack_pending === 0 ? true : undefined));
  });

  it('hands messages to the handler in stream order with concurrency 1', async () => {
    const c = newCase();
    const ns = Array.from({ length: 40 }, (_, i) => i);
    await c.publish(...ns);
    let active = 0;
    let maxActive = 0;
    await c.start(
      async (msg) => {
        active += 1;
        maxActive = Math.max(maxActive, active);
        await sleep(Math.random() * 5);
        c.record(msg);
        active -= 1;
        return ack;
      },
      { batchSize: 8 },
    );
    await eventually(async () => (c.deliveries.length === ns.length ? true : undefined));
    expect(c.deliveries.map((d) => d.n)).toEqual(ns);
    expect(maxActive).toBe(1);
  });

  it('runs up to `concurrency` handlers at once', async () => {
    const c = newCase();
    await c.publish(...Array.from({ length: 12 }, (_, i) => i));
    let active = 0;
    let maxActive = 0;
    await c.start(
      async (msg) => {
        active += 1;
        maxActive = Math.max(maxActive, active);
        await sleep(100);
        c.record(msg);
        active -= 1;
        return ack;
      },
      { concurrency: 4 },
    );
    await eventually(async () => (c.deliveries.length === 12 ? true : undefined));
    expect(maxActive).toBe(4);
  });

  it('stop() waits for the running handler and its ack, and hands buffered messages back', async () => {
    const c = newCase();
    let started!: () => void;
    const handlerStarted = new Promise<void>((resolve) => (started = resolve));
    let finished = false;
    const first = await c.start(async (msg) => {
      c.record(msg);
      started();
      await sleep(500);
      finished = true;
      return ack;
    });
    await c.publish(1, 2, 3);
    await handlerStarted;
    // A rolling restart: the replacement is up before the old instance stops. 2 and 3 are
    // already buffered by the old one; stop() must nak them, not leave them to the ack wait.
    await c.start(async (msg) => (c.record(msg), ack));
    const stoppedAt = Date.now();
    await c.stop(first);
    expect(finished).toBe(true);
    expect(c.deliveries[0]).toMatchObject({ n: 1, deliveryCount: 1 });
    const info = await c.info();
    expect(info.ack_floor.stream_seq).toBeGreaterThanOrEqual(c.deliveries[0]!.streamSequence);

    await eventually(async () => (c.deliveries.length === 3 ? true : undefined), 4_000);
    expect(Date.now() - stoppedAt).toBeLessThan(4_000);
    expect(c.deliveries.map((d) => [d.n, d.deliveryCount])).toEqual([
      [1, 1],
      [2, 2],
      [3, 2],
    ]);
  });

  it('resumes after a restart without handling acked messages again', async () => {
    const c = newCase();
    const first = await c.start(async (msg) => (c.record(msg), ack));
    await c.publish(1, 2, 3);
    await eventually(async () => (c.deliveries.length === 3 ? true : undefined));
    await c.stop(first);

    await c.publish(4, 5);
    await c.start(async (msg) => (c.record(msg), ack));
    await eventually(async () => (c.deliveries.length === 5 ? true : undefined));
    await sleep(300);
    expect(c.deliveries.map((d) => d.n)).toEqual([1, 2, 3, 4, 5]);
    expect(c.deliveries.every((d) => d.deliveryCount === 1)).toBe(true);
  });

  it('recreates its consumer and carries on when the consumer is deleted under it', async () => {
    const c = newCase();
    await c.start(async (msg) => (c.record(msg), ack));
    await c.publish(1);
    await eventually(async () => (c.deliveries.length === 1 ? true : undefined));
    const jsm = await nc.jetstreamManager();
    await jsm.consumers.delete(names.eventsStream, c.durable);
    await sleep(200);
    await c.publish(2);
    // The recreated consumer starts over from the stream's start: at-least-once, 1 comes again.
    await eventually(async () => (c.deliveries.some((d) => d.n === 2) ? true : undefined), 15_000);
    expect((await c.info()).config.durable_name).toBe(c.durable);
  });

  it('fails to start, saying why, when the stream does not exist', async () => {
    await expect(
      runDurableConsumer(nc, {
        names,
        stream: 'NO_SUCH_STREAM',
        durable: 'nobody',
        filterSubjects: [],
        logger,
        handler: async () => ack,
      }),
    ).rejects.toThrow(/NO_SUCH_STREAM.*stream not found/);
  });
});
