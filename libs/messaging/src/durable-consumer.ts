import {
  AckPolicy,
  DeliverPolicy,
  nanos,
  type ConsumerConfig,
  type ConsumerInfo,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type MsgHdrs,
  type NatsConnection,
} from 'nats';
import type { Logger } from 'pino';
import type { NatsNames } from '@reach/contracts';
import { SpanKind, SpanStatusCode, inSpan, runWithLogFields, type Span } from '@reach/telemetry';
import { publishDeadLetter } from './dead-letter';
import { consumedMessageContext, messagingAttributes } from './message-trace';
import { isAlreadyExists, isConsumerNotFound } from './nats-errors';
import { defaultRedeliveryBackoffMs, redeliveryDelayMs, restartDelayMs } from './retry-backoff';

/** One delivery of a stream message, as a handler sees it. */
export interface ConsumedMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers: MsgHdrs | undefined;
  /** 1 on the first delivery, counting every redelivery (nak, ack timeout, crash). */
  readonly deliveryCount: number;
  readonly streamSequence: number;
  /** The payload as JSON, unvalidated: parse it with the payload's zod schema. */
  json<T = unknown>(): T;
  /** Resets the ack timer; a handler that may run longer than `ackWaitMs` calls it as it goes. */
  working(): void;
}

/**
 * What a handler decided, mapped to JetStream once, here: `ack`; `retry` = nak with a delay
 * (the backoff schedule's unless given); `reject` = poison, dead-lettered and terminated.
 */
export type HandlerOutcome =
  | { readonly kind: 'ack' }
  | { readonly kind: 'retry'; readonly delayMs?: number; readonly reason: string }
  | { readonly kind: 'reject'; readonly reason: string };

/** A handler that throws is retried like `{ kind: 'retry' }` with the backoff delay. */
export type MessageHandler = (msg: ConsumedMessage) => Promise<HandlerOutcome>;

export interface DurableConsumerOptions {
  /** Where dead letters go: `names.deadLetterSubject(durable)` on `names.deadLetterStream`. */
  readonly names: NatsNames;
  readonly stream: string;
  /** Durable consumer name, e.g. `names.consumerName('dispatcher', 'releases')`. */
  readonly durable: string;
  /** Subjects to receive; empty for the whole stream. More than one needs nats-server 2.10+. */
  readonly filterSubjects: readonly string[];
  readonly handler: MessageHandler;
  readonly logger: Logger;
  /** Unacked for this long (no ack, nak or `working()`), a delivery is redelivered. Default 30 s. */
  readonly ackWaitMs?: number;
  /** Deliveries outstanding (not yet acked) across all instances of this durable. Default 1000. */
  readonly maxAckPending?: number;
  /** Handler attempts per message before it is dead-lettered. Default 5. */
  readonly maxDeliveries?: number;
  /** Nak delay after failed delivery n is `backoffMs[n - 1]` (the last entry once past the end). */
  readonly backoffMs?: readonly number[];
  /**
   * Messages pulled per request. Default 32. Pulled messages wait in a local buffer with their
   * ack timers running, so `ackWaitMs` should cover `batchSize / concurrency` handler runs.
   */
  readonly batchSize?: number;
  /** Handlers running at once. Default 1: the handler sees messages in stream order. */
  readonly concurrency?: number;
}

export interface DurableConsumer {
  readonly durable: string;
  /**
   * Graceful shutdown: stops fetching, hands buffered deliveries back to the server (nak, so
   * another instance takes them at once), waits for running handlers to finish and their
   * acks to reach the server, then resolves.
   */
  stop(): Promise<void>;
}

interface Settings extends Required<Omit<DurableConsumerOptions, 'logger'>> {
  readonly logger: Logger;
}

const defaults = {
  ackWaitMs: 30_000,
  maxAckPending: 1_000,
  maxDeliveries: 5,
  batchSize: 32,
  concurrency: 1,
} as const;

/**
 * Runs a durable pull consumer until `stop()`. Creates or updates the consumer first (so a
 * missing stream fails the caller), then consumes in a loop that restarts with backoff after
 * failures (consumer deleted, stream gone, server lost) and ends when the connection closes.
 *
 * At-least-once: a message is acked only after its handler returned `ack`, so handlers must be
 * idempotent. Redelivery is bounded here rather than by the server's `max_deliver`, so a message
 * whose last attempt crashed the process still reaches the dead-letter stream.
 * Order: with `concurrency` 1 messages are handled in stream order, except that a retried
 * message comes back after the ones behind it (set `maxAckPending` 1 for strict order).
 */
export async function runDurableConsumer(nc: NatsConnection, options: DurableConsumerOptions): Promise<DurableConsumer> {
  const settings = resolveSettings(options);
  const jsm = await nc.jetstreamManager();
  await ensureDurableConsumer(jsm, settings);
  const loop = new ConsumeLoop(nc, nc.jetstream(), jsm, settings);
  return { durable: settings.durable, stop: () => loop.stop() };
}

function resolveSettings(options: DurableConsumerOptions): Settings {
  const settings: Settings = {
    ...options,
    ackWaitMs: options.ackWaitMs ?? defaults.ackWaitMs,
    maxAckPending: options.maxAckPending ?? defaults.maxAckPending,
    maxDeliveries: options.maxDeliveries ?? defaults.maxDeliveries,
    backoffMs: options.backoffMs ?? defaultRedeliveryBackoffMs,
    batchSize: Math.min(options.batchSize ?? defaults.batchSize, options.maxAckPending ?? defaults.maxAckPending),
    concurrency: options.concurrency ?? defaults.concurrency,
    logger: options.logger.child({ stream: options.stream, consumer: options.durable }),
  };
  for (const key of ['ackWaitMs', 'maxAckPending', 'maxDeliveries', 'batchSize', 'concurrency'] as const) {
    const value = settings[key];
    if (!Number.isInteger(value) || value < 1) {
      throw new Error(`durable consumer ${options.durable}: ${key} must be a positive integer, got ${value}`);
    }
  }
  if (settings.backoffMs.some((delay) => !Number.isFinite(delay) || delay < 0)) {
    throw new Error(`durable consumer ${options.durable}: backoffMs must hold non-negative numbers`);
  }
  return settings;
}

type ConsumerSettings = Pick<Settings, 'stream' | 'durable' | 'filterSubjects' | 'ackWaitMs' | 'maxAckPending' | 'logger'>;

/**
 * Creates the durable consumer or brings an existing one to the wanted settings. Safe to run
 * from every instance at once. The server redelivers forever (`max_deliver` -1): the consume
 * loop bounds deliveries itself and dead-letters.
 */
export async function ensureDurableConsumer(jsm: JetStreamManager, settings: ConsumerSettings): Promise<ConsumerInfo> {
  const desired = {
    durable_name: settings.durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(settings.ackWaitMs),
    max_ack_pending: settings.maxAckPending,
    max_deliver: -1,
    ...filterConfig(settings.filterSubjects),
  } satisfies Partial<ConsumerConfig>;
  for (let attempt = 1; ; attempt++) {
    const existing = await consumerInfoOrNull(jsm, settings.stream, settings.durable);
    if (existing === null) {
      try {
        const created = await jsm.consumers.add(settings.stream, desired);
        settings.logger.info('durable consumer created');
        return created;
      } catch (error) {
        if (isAlreadyExists(error) && attempt < 3) continue;
        throw new Error(`cannot create consumer ${settings.durable} on stream ${settings.stream}: ${String(error)}`, { cause: error });
      }
    }
    const config = existing.config;
    if (config.ack_policy !== desired.ack_policy || config.deliver_policy !== desired.deliver_policy) {
      throw new Error(
        `consumer ${settings.durable} on stream ${settings.stream} exists with ack policy ${config.ack_policy} and ` +
          `deliver policy ${config.deliver_policy}; delete it to recreate it as explicit-ack, deliver-all`,
      );
    }
    if (
      config.ack_wait === desired.ack_wait &&
      config.max_ack_pending === desired.max_ack_pending &&
      config.max_deliver === desired.max_deliver &&
      sameList(filtersOf(config), settings.filterSubjects)
    ) {
      return existing;
    }
    try {
      const updated = await jsm.consumers.update(settings.stream, settings.durable, {
        ack_wait: desired.ack_wait,
        max_ack_pending: desired.max_ack_pending,
        max_deliver: desired.max_deliver,
        filter_subject: desired.filter_subject,
        filter_subjects: desired.filter_subjects,
      });
      settings.logger.info('durable consumer configuration updated');
      return updated;
    } catch (error) {
      if (isConsumerNotFound(error) && attempt < 3) continue;
      throw new Error(`cannot update consumer ${settings.durable} on stream ${settings.stream}: ${String(error)}`, { cause: error });
    }
  }
}

function filterConfig(subjects: readonly string[]): { filter_subject?: string; filter_subjects?: string[] } {
  const [first, ...rest] = subjects;
  if (first === undefined) return {};
  if (rest.length === 0) return { filter_subject: first };
  return { filter_subjects: [...subjects] };
}

function filtersOf(config: ConsumerConfig): string[] {
  if (config.filter_subjects && config.filter_subjects.length > 0) return config.filter_subjects;
  return config.filter_subject ? [config.filter_subject] : [];
}

function sameList(left: readonly string[], right: readonly string[]): boolean {
  return left.length === right.length && left.every((item) => right.includes(item));
}

async function consumerInfoOrNull(jsm: JetStreamManager, stream: string, durable: string): Promise<ConsumerInfo | null> {
  try {
    return await jsm.consumers.info(stream, durable);
  } catch (error) {
    if (isConsumerNotFound(error)) return null;
    throw new Error(`cannot read consumer ${durable} on stream ${stream}: ${String(error)}`, { cause: error });
  }
}

class ConsumeLoop {
  private stopping = false;
  private readonly stopRequested: Promise<void>;
  private requestStop!: () => void;
  private current: ConsumerMessages | null = null;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly done: Promise<void>;

  constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly settings: Settings,
  ) {
    this.stopRequested = new Promise((resolve) => (this.requestStop = resolve));
    // A closed connection does not always end a consume iterator by itself.
    void nc.closed().then(() => this.current?.close());
    this.done = this.run();
  }

  async stop(): Promise<void> {
    if (!this.stopping) {
      this.stopping = true;
      this.requestStop();
      void this.current?.close().catch(() => undefined);
    }
    await this.done;
  }

  private async run(): Promise<void> {
    const { logger } = this.settings;
    let failures = 0;
    let recreate = false;
    while (!this.stopping && !this.nc.isClosed()) {
      try {
        if (recreate) await ensureDurableConsumer(this.jsm, this.settings);
        const consumer = await this.js.consumers.get(this.settings.stream, this.settings.durable);
        const messages = await consumer.consume({ max_messages: this.settings.batchSize, abort_on_missing_resource: true });
        this.current = messages;
        if (this.stopping || this.nc.isClosed()) void messages.close().catch(() => undefined);
        for await (const msg of messages) {
          failures = 0;
          await this.waitForSlot();
          if (this.stopping) {
            this.handBack(msg);
            continue;
          }
          this.track(this.process(msg));
        }
        if (!this.stopping && !this.nc.isClosed()) throw new Error('consume ended unexpectedly');
      } catch (error) {
        if (this.stopping || this.nc.isClosed()) break;
        failures += 1;
        recreate = true;
        const delayMs = restartDelayMs(failures);
        logger.warn({ err: error, failures, delayMs }, 'consume loop failed; restarting');
        await this.pause(delayMs);
      } finally {
        this.current = null;
      }
    }
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    if (this.nc.isClosed()) {
      if (!this.stopping) logger.error('nats connection closed; consumer stopped');
      return;
    }
    // Acks and naks are fire-and-forget publishes; the flush's round trip proves the server has them.
    await this.nc.flush().catch((error: unknown) => logger.warn({ err: error }, 'flush after stop failed'));
    logger.info('consumer stopped');
  }

  private async waitForSlot(): Promise<void> {
    while (this.inFlight.size >= this.settings.concurrency) await Promise.race(this.inFlight);
  }

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      void this.stopRequested.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /**
   * Each delivery is handled inside a CONSUMER span whose parent is the publisher's context
   * (NATS headers, else the event's metadata), with the message's log fields bound: whatever the
   * handler appends or logs carries the same trace and correlation id onward.
   */
  private process(msg: JsMsg): Promise<void> {
    const { parent, fields } = consumedMessageContext(msg.headers, () => msg.json());
    const attributes = messagingAttributes('process', msg.subject, {
      'messaging.consumer.group.name': this.settings.durable,
      'messaging.nats.delivery_count': msg.info.redeliveryCount,
      'messaging.nats.stream_sequence': msg.info.streamSequence,
    });
    return runWithLogFields(fields, () =>
      inSpan(`process ${msg.subject}`, { kind: SpanKind.CONSUMER, parent, attributes }, (span) => this.handle(msg, span)),
    );
  }

  /** Never rejects: every failure ends in a logged ack, nak or term. */
  private async handle(msg: JsMsg, span: Span): Promise<void> {
    const { handler, maxDeliveries, backoffMs, logger } = this.settings;
    const deliveryCount = msg.info.redeliveryCount;
    const where = { subject: msg.subject, streamSequence: msg.info.streamSequence, deliveryCount };
    try {
      if (deliveryCount > maxDeliveries) {
        await this.deadLetter(msg, `delivered ${deliveryCount} times, more than the ${maxDeliveries} allowed`);
        return;
      }
      let outcome: HandlerOutcome;
      try {
        outcome = await handler(toConsumedMessage(msg));
      } catch (error) {
        logger.warn({ ...where, err: error }, 'handler threw; retrying');
        outcome = { kind: 'retry', reason: `handler threw: ${errorText(error)}` };
      }
      span.setAttribute('reach.handler.outcome', outcome.kind);
      if (outcome.kind !== 'ack') span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.reason });
      logger.debug({ ...where, outcome: outcome.kind }, 'message handled');
      switch (outcome.kind) {
        case 'ack':
          this.settle(msg, 'ack', () => msg.ack());
          return;
        case 'retry': {
          if (deliveryCount >= maxDeliveries) {
            await this.deadLetter(msg, `gave up after ${deliveryCount} deliveries: ${outcome.reason}`);
            return;
          }
          const delayMs = outcome.delayMs ?? redeliveryDelayMs(deliveryCount, backoffMs);
          logger.info({ ...where, delayMs, reason: outcome.reason }, 'message will be redelivered');
          this.settle(msg, 'nak', () => msg.nak(delayMs));
          return;
        }
        case 'reject':
          await this.deadLetter(msg, outcome.reason);
          return;
        default:
          return assertNever(outcome);
      }
    } catch (error) {
      logger.error({ ...where, err: error }, 'message processing failed; redelivering');
      this.settle(msg, 'nak', () => msg.nak(redeliveryDelayMs(deliveryCount, backoffMs)));
    }
  }

  private async deadLetter(msg: JsMsg, reason: string): Promise<void> {
    const { names, stream, durable, backoffMs, logger } = this.settings;
    const where = { subject: msg.subject, streamSequence: msg.info.streamSequence, deliveryCount: msg.info.redeliveryCount };
    try {
      await publishDeadLetter(this.js, names, {
        consumer: durable,
        stream,
        subject: msg.subject,
        streamSequence: msg.info.streamSequence,
        deliveryCount: msg.info.redeliveryCount,
        reason,
        data: msg.data,
        headers: msg.headers,
      });
    } catch (error) {
      // Not terminated: the next delivery exceeds the bound and tries the dead-letter stream again.
      logger.error({ ...where, reason, err: error }, 'dead-lettering failed; message stays in the stream');
      this.settle(msg, 'nak', () => msg.nak(redeliveryDelayMs(msg.info.redeliveryCount, backoffMs)));
      return;
    }
    logger.error({ ...where, reason, deadLetterSubject: names.deadLetterSubject(durable) }, 'message dead-lettered');
    this.settle(msg, 'term', () => msg.term());
  }

  /**
   * Nak without delay: another instance (or this one, restarted) takes the message at once.
   * nats-server before 2.10.14 mishandles a redelivery that finds only our closed pull request
   * (nats-server#5305): with no other instance running, one message may then come back twice
   * and another only after the ack wait. Still at-least-once, so handlers are unaffected.
   */
  private handBack(msg: JsMsg): void {
    this.settle(msg, 'nak', () => msg.nak());
  }

  private settle(msg: JsMsg, action: string, send: () => void): void {
    try {
      send();
    } catch (error) {
      // The connection is gone: the server redelivers after the ack wait.
      this.settings.logger.warn({ streamSequence: msg.info.streamSequence, action, err: error }, 'could not settle message');
    }
  }
}

function toConsumedMessage(msg: JsMsg): ConsumedMessage {
  return {
    subject: msg.subject,
    data: msg.data,
    headers: msg.headers,
    deliveryCount: msg.info.redeliveryCount,
    streamSequence: msg.info.streamSequence,
    json: <T>() => msg.json<T>(),
    working: () => msg.working(),
  };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function assertNever(value: never): never {
  throw new Error(`unexpected handler outcome: ${JSON.stringify(value)}`);
}
