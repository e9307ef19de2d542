import { AckPolicy, connect, DeliverPolicy, nanos, type JetStreamManager, type JsMsg } from 'nats';
import { isMessageEventType, MessageEvent, natsNames } from '@reach/contracts';
import { Envelope } from './envelope';

/**
 * A subscriber to Reach's relayed events that follows docs/events.md, with nothing of the
 * platform but @reach/contracts: its own durable pull consumer on the events stream, every
 * payload parsed as the envelope and its `data` validated with the event's zod schema.
 *
 * Guarantees it gives `onEvent`: only known, valid events; each event id at most once while
 * the id is remembered (see RecentEventIds); one event at a time, in stream order, also across
 * retries (max_ack_pending 1). It acks an event after `onEvent` resolved, naks it with a delay
 * when `onEvent` threw, and terminates what can never succeed (not an envelope, invalid data,
 * too many attempts). Unknown event types (added in v1 after this was written) are acked and
 * skipped with a log line.
 */

export interface ReceivedEvent {
  /** The validated event: switch on `event.type` and `event.data` is typed. */
  readonly event: MessageEvent;
  readonly eventId: string;
  /** `message-<messageId>` for message events. */
  readonly streamId: string;
  /** Place in the stream: 0n for the first event, then 1n, 2n, … */
  readonly revision: bigint;
  readonly createdAt: string;
  readonly metadata: Readonly<Record<string, unknown>>;
}

export interface SubscriberOptions {
  readonly natsUrl: string;
  /** The platform's namespace (`REACH_NAMESPACE`, default `reach`). */
  readonly namespace: string;
  /** Durable consumer name: one per subscribing application, shared by its replicas. */
  readonly durable: string;
  /** Handles one event. Make it idempotent: an event can come again (see docs/events.md). */
  readonly onEvent: (received: ReceivedEvent) => Promise<void> | void;
  /** Aborting stops the subscriber: `runSubscriber` resolves once acks are flushed. */
  readonly signal: AbortSignal;
  /** Where diagnostics go (skips, retries, terminations). Default: stderr. */
  readonly log?: (line: string) => void;
}

/** Attempts per event before it is terminated (an `onEvent` that keeps throwing). */
const maxAttempts = 5;
/** Redelivery after a failed attempt n: 1 s, 2 s, 4 s, … at most 30 s. */
const retryDelayMs = (attempt: number): number => Math.min(1_000 * 2 ** (attempt - 1), 30_000);
/** Unacked for this long (a crashed or stuck handler), an event is redelivered. */
const ackWaitMs = 30_000;

export async function runSubscriber(options: SubscriberOptions): Promise<void> {
  const { signal, durable } = options;
  const log = options.log ?? ((line: string) => console.error(line));
  const names = natsNames(options.namespace);
  const nc = await connect({ servers: options.natsUrl, name: durable });
  try {
    await ensureConsumer(await nc.jetstreamManager(), names.eventsStream, durable, names.allEvents);
    const consumer = await nc.jetstream().consumers.get(names.eventsStream, durable);
    // consume() keeps pulling, across reconnects too, until close() ends the loop.
    const messages = await consumer.consume();
    const stop = () => void messages.close();
    if (signal.aborted) stop();
    else signal.addEventListener('abort', stop, { once: true });
    log(`subscribed to ${names.allEvents} on stream ${names.eventsStream} as durable ${durable}`);

    const seen = new RecentEventIds(10_000);
    try {
      for await (const msg of messages) {
        if (signal.aborted) {
          msg.nak(); // hand it back at once instead of after the ack wait
          continue;
        }
        await handle(msg, seen, options.onEvent, log);
      }
    } finally {
      signal.removeEventListener('abort', stop);
    }
  } finally {
    // Drain sends the acks still buffered and waits for the server to have them.
    await nc.drain();
  }
}

async function handle(msg: JsMsg, seen: RecentEventIds, onEvent: SubscriberOptions['onEvent'], log: (line: string) => void): Promise<void> {
  const where = `${msg.subject} #${msg.info.streamSequence}`;
  const envelope = Envelope.safeParse(parseJson(msg.data));
  if (!envelope.success) {
    terminate(msg, log, `${where}: not an event envelope: ${envelope.error.message}`);
    return;
  }
  const { eventId, type, streamId, revision, createdAt, metadata, data } = envelope.data;
  if (!isMessageEventType(type)) {
    // Versioning rule: new event types appear within v1 without notice; ignore them.
    log(`skipped ${type} ${eventId}: unknown event type`);
    msg.ack();
    return;
  }
  if (seen.has(eventId)) {
    log(`skipped ${type} ${eventId}: already handled`);
    msg.ack();
    return;
  }
  const event = MessageEvent.safeParse({ type, data });
  if (!event.success) {
    terminate(msg, log, `${where}: ${type} ${eventId} does not match its schema: ${event.error.message}`);
    return;
  }

  const attempt = msg.info.redeliveryCount;
  try {
    await onEvent({ event: event.data, eventId, streamId, revision: BigInt(revision), createdAt, metadata });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    if (attempt >= maxAttempts) {
      terminate(msg, log, `${where}: ${type} ${eventId} failed ${attempt} times, last: ${reason}`);
      return;
    }
    const delayMs = retryDelayMs(attempt);
    log(`retrying ${type} ${eventId} in ${delayMs} ms (attempt ${attempt} failed: ${reason})`);
    msg.nak(delayMs);
    return;
  }
  seen.add(eventId);
  msg.ack();
}

/**
 * Poison: redelivery cannot help. The platform's own consumers first copy such a message to
 * the dead-letter stream (`<ns>.dlq.v1.<durable>`); this example only logs it. It stays in the
 * events stream until its max age, findable by the logged stream sequence.
 */
function terminate(msg: JsMsg, log: (line: string) => void, reason: string): void {
  log(`terminated ${reason}`);
  // No reason on the wire: `term(reason)` needs nats-server 2.10.4+; the log has it.
  msg.term();
}

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  }
}

/**
 * Creates the durable consumer when it does not exist yet (an existing one is used as it is).
 * Deliver all: a new subscriber starts at the oldest event the stream still keeps. Max ack
 * pending 1: the next event is delivered only once this one is acked, so a retried event is
 * not overtaken (strict order, at the price of one round trip per event; raise it, and compare
 * `revision` per `streamId` instead, when throughput matters).
 */
async function ensureConsumer(jsm: JetStreamManager, stream: string, durable: string, filterSubject: string): Promise<void> {
  try {
    await jsm.consumers.info(stream, durable);
    return;
  } catch (error) {
    if (!isConsumerNotFound(error)) throw error;
  }
  await jsm.consumers.add(stream, {
    durable_name: durable,
    filter_subject: filterSubject,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(ackWaitMs),
    max_ack_pending: 1,
  });
}

/** JetStream's API error code for "consumer not found" (`err_code` in the server's answer). */
const consumerNotFound = 10014;

function isConsumerNotFound(error: unknown): boolean {
  const apiError = typeof error === 'object' && error !== null && 'api_error' in error ? error.api_error : undefined;
  return typeof apiError === 'object' && apiError !== null && 'err_code' in apiError && apiError.err_code === consumerNotFound;
}

/**
 * The event ids handled most recently, at most `capacity` of them (oldest forgotten first).
 * JetStream already drops a republish within its duplicate window, but a redelivery (an ack
 * lost with the connection, a crash before the ack) or a republish after the window brings an
 * event again; this catches those while the id is remembered. It forgets on restart, so a
 * real subscriber stores what it handled (event id, or last revision per stream) durably, in
 * the same transaction as its effect.
 */
export class RecentEventIds {
  private readonly ids = new Set<string>();

  constructor(private readonly capacity: number) {}

  has(eventId: string): boolean {
    return this.ids.has(eventId);
  }

  add(eventId: string): void {
    this.ids.add(eventId);
    if (this.ids.size > this.capacity) {
      const oldest = this.ids.values().next();
      if (!oldest.done) this.ids.delete(oldest.value);
    }
  }
}
