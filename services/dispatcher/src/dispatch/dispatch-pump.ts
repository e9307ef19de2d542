import type { Logger } from 'pino';
import { createHash } from 'node:crypto';
import { findNumber } from '@reach/accounts';
import { isTerminalStatus, messageStreamId, type ChannelKind, type MessageCommand } from '@reach/contracts';
import type { Db } from '@reach/database';
import type { EventStore } from '@reach/event-store';
import { executeMessageCommand, readMessageState, type KnownStreamState } from '@reach/infrastructure';
import { MessageRuleViolation, countSegments } from '@reach/message-domain';
import { findUnfinishedMessages, type UnfinishedCursor } from '@reach/read-models';
import {
  SpanKind,
  activeTraceparent,
  contextFromTraceparent,
  currentLogFields,
  inSpan,
  runDetached,
  runWithLogFields,
  type LogFields,
} from '@reach/telemetry';
import {
  ChannelReportRefusedError,
  type ChannelInboundSms,
  type ChannelReports,
  type ChannelSend,
  type OutboundChannel,
  type ReportSource,
} from '../channels/outbound-channel';

export { ChannelReportRefusedError };
import { enqueue, nextForSender, removeFromQueue, sendersWithWork, type QueuedMessage } from './dispatch-queue.repository';

export type DispatchOutcome = 'dispatched' | 'sent' | 'delivered' | 'undelivered' | 'failed' | 'expired';

export interface PumpDependencies {
  readonly db: Db;
  readonly store: EventStore;
  readonly logger: Logger;
  readonly clock?: () => Date;
  readonly onOutcome?: (outcome: DispatchOutcome) => void;
  /** Pause before a sender whose pass failed is tried again. */
  readonly retryDelayMs?: number;
  /** A dispatched or sent message unchanged for this long, and unknown here, is resumed by the sweep. */
  readonly resumeAfterMs?: number;
  /** Rows the sweep reads at a time (it pages through all of them). Default 500. */
  readonly resumePageSize?: number;
}

const BATCH = 100;
type ReportOutcome = Exclude<DispatchOutcome, 'dispatched' | 'expired'>;
type MessageRef = { messageId: string; accountId: string; now: string };


/**
 * The id of an inbound SMS's stream: derived from the channel and the channel's key for the SMS,
 * so a repeated report of the same SMS lands on the same stream and is recorded once.
 */
export function inboundMessageId(channel: ChannelKind, key: string): string {
  const hex = createHash('sha256').update(`reach inbound v1\u0000${channel}\u0000${key}`).digest('hex');
  // RFC 9562 version 8 (custom) with the RFC variant bits.
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/**
 * Hands each sender's released messages to its phone, in release order, while the phone is
 * online, and turns the phone's reports into events.
 *
 * - Hot path: a message whose phone is online and whose sender has no backlog is dispatched at
 *   once (one append), with no queue-table writes.
 * - Backlog: while a phone is offline its messages wait, durably, in `dispatch_queue`; when it
 *   comes back a pass sends them in order. Admission and passes of one sender run in one lane,
 *   one after another, so a new message never overtakes the backlog.
 * - At most once to a channel: the decider refuses a second dispatch, and exactly one of
 *   dispatched/expired wins through the expected revision.
 * - Nothing stuck: messages a channel took but did not finish (the process died, the lease moved)
 *   are found in the read model by a periodic sweep and resumed from their stored state.
 */
export class DispatchPump implements ChannelReports {
  private readonly channels = new Map<ChannelKind, OutboundChannel>();
  private active = false;
  private readonly lanes = new Map<string, Promise<void>>();
  /** Senders with rows waiting in dispatch_queue. */
  private readonly backlog = new Set<string>();
  /**
   * Messages handed to a channel by this process and not finished, with their stream state after
   * our last append. A `sent` message stays only while its channel makes the receipt itself
   * (`awaitReceipt`); otherwise the far end repeats the receipt and it may never come at all.
   */
  private readonly inFlight = new Map<string, KnownStreamState>();
  private readonly reportChains = new Map<string, Promise<void>>();
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private readonly clock: () => Date;

  constructor(private readonly deps: PumpDependencies) {
    this.clock = deps.clock ?? (() => new Date());
  }

  /** The channels messages go out on, by kind; a message whose channel is not attached waits. */
  attach(...channels: OutboundChannel[]): void {
    for (const channel of channels) this.channels.set(channel.kind, channel);
  }

  /** Starts every attached channel, giving it this pump's reports and wake-up. */
  async startChannels(): Promise<void> {
    for (const channel of this.channels.values()) {
      await channel.start({ reports: this, wake: (sender) => (sender === undefined ? this.wakeAll() : this.wake(sender)) });
    }
  }

  async stopChannels(): Promise<void> {
    await Promise.all([...this.channels.values()].map((channel) => channel.stop()));
  }

  /** Whether the message's channel would take it now. */
  private isReady(message: { readonly from: string; readonly channel: ChannelKind }): boolean {
    return this.channels.get(message.channel)?.isReady(message.from) ?? false;
  }

  get isActive(): boolean {
    return this.active;
  }

  /** Messages this process handed to a channel and still holds (see `inFlight`). */
  get heldMessages(): number {
    return this.inFlight.size;
  }

  /** Whether the channel of this kind makes its receipts itself (implements `awaitReceipt`). */
  private makesReceipts(kind: ChannelKind): boolean {
    return this.channels.get(kind)?.awaitReceipt !== undefined;
  }

  /** Nothing more for this process to do: finished, or sent with the receipt owed by the far end. */
  private nothingOwedHere(state: KnownStreamState['state']): boolean {
    return state.status === 'initial' || isTerminalStatus(state.status) || (state.status === 'sent' && !this.makesReceipts(state.channel));
  }

  /** Keeps or forgets what we know of a message after an append (see `inFlight`). */
  private remember(messageId: string, known: KnownStreamState): void {
    if (this.nothingOwedHere(known.state)) this.inFlight.delete(messageId);
    else this.inFlight.set(messageId, known);
  }

  /** This replica now owns the channel: pick up every backlog and every unfinished message. */
  async activate(): Promise<void> {
    this.active = true;
    for (const sender of await sendersWithWork(this.deps.db)) {
      this.backlog.add(sender);
      this.wake(sender);
    }
    await this.resumeUnfinished(0);
  }

  async deactivate(): Promise<void> {
    this.active = false;
    for (const timer of this.retryTimers) clearTimeout(timer);
    this.retryTimers.clear();
    await Promise.all([...this.lanes.values()]);
    await Promise.all([...this.reportChains.values()]);
    // What this process held is resumed from stored state by whoever owns the channel next.
    this.inFlight.clear();
  }

  /**
   * A released message arrives (from the MessageQueued consumer): send it now, or keep it in the
   * backlog. The lane is entered before `load` reads the stream, so admissions of one sender keep
   * the order of the calls. `load` returns null when the message no longer needs sending.
   */
  admit(sender: string, load: () => Promise<{ message: QueuedMessage; known: KnownStreamState } | null>): Promise<void> {
    // The context of the admission (the MessageQueued consumer's span and request), for the backlog row.
    const admittedIn = { traceParent: activeTraceparent(), fields: currentLogFields() };
    return this.inLane(sender, async () => {
      const loaded = await load();
      if (!loaded) return;
      const { message, known } = loaded;
      if (this.active && !this.backlog.has(message.from) && this.isReady(message)) {
        await this.dispatchOne(message, known);
        return;
      }
      // Only a context that is this message's own travels with it (not one it happens to run in).
      const own = admittedIn.fields?.messageId === undefined || admittedIn.fields.messageId === message.messageId;
      await enqueue(this.deps.db, {
        ...message,
        traceParent: own ? admittedIn.traceParent : null,
        correlationId: (own && admittedIn.fields?.correlationId) || null,
      });
      this.backlog.add(message.from);
      if (this.active && this.isReady(message)) this.wake(message.from);
    });
  }

  /** Every sender with a backlog: a channel can take messages again (a bind came up). */
  wakeAll(): void {
    for (const sender of this.backlog) this.wake(sender);
  }

  /** The sender's phone may have come back: send its backlog. */
  wake(sender: string): void {
    if (!this.active || !this.backlog.has(sender)) return;
    // A pass sends many messages: none of them belongs to the trace or request that woke it.
    void runDetached(() => this.inLane(sender, () => this.drainBacklog(sender))).catch((error) => {
      if (!this.active) return;
      this.deps.logger.error({ err: error, sender }, 'dispatch pass failed; retrying shortly');
      const timer = setTimeout(() => {
        this.retryTimers.delete(timer);
        this.wake(sender);
      }, this.deps.retryDelayMs ?? 1000);
      this.retryTimers.add(timer);
    });
  }

  /**
   * Resumes messages a channel took but did not finish and that this process does not hold
   * (after a crash or a lease change). Runs at activation and periodically.
   */
  async resumeUnfinished(olderThanMs = this.deps.resumeAfterMs ?? 30_000): Promise<number> {
    if (!this.active) return 0;
    const kinds = [...this.channels.keys()];
    const filter = {
      dispatchedChannels: kinds,
      sentChannels: kinds.filter((kind) => this.makesReceipts(kind)),
      changedBefore: new Date(this.clock().getTime() - olderThanMs),
      limit: this.deps.resumePageSize ?? 500,
    };
    let resumed = 0;
    let after: UnfinishedCursor | undefined;
    while (this.active) {
      const page = await findUnfinishedMessages(this.deps.db, after ? { ...filter, after } : filter);
      for (const { messageId, from } of page) {
        // Checked and read inside the sender's lane: a backlog pass may be handing it over right now.
        await this.inLane(from, async () => {
          if (this.inFlight.has(messageId)) return;
          const known = await readMessageState(this.deps.store, messageStreamId(messageId));
          const { state } = known;
          if (state.status === 'initial' || state.direction !== 'outbound' || this.nothingOwedHere(state)) return;
          await this.dispatchOne(toQueuedMessage(state), known);
          resumed++;
        });
      }
      if (page.length < filter.limit) break;
      after = page[page.length - 1]!.cursor;
    }
    if (resumed > 0) this.deps.logger.info({ resumed }, 'resumed unfinished messages');
    return resumed;
  }

  /** Sends the sender's backlog in order while its channel takes messages; the channel wakes it again. */
  private async drainBacklog(sender: string): Promise<void> {
    while (this.active) {
      const batch = await nextForSender(this.deps.db, sender, [], BATCH);
      if (batch.length === 0) {
        this.backlog.delete(sender);
        return;
      }
      for (const message of batch) {
        if (!this.active || !this.isReady(message)) return;
        await inQueuedContext(message, () => this.dispatchOne(message, undefined));
        await removeFromQueue(this.deps.db, message.messageId);
      }
    }
  }

  private async dispatchOne(message: QueuedMessage, known: KnownStreamState | undefined): Promise<void> {
    const outcome = await executeMessageCommand(
      this.deps.store,
      {
        type: 'DispatchMessage',
        data: { messageId: message.messageId, accountId: message.accountId, now: this.clock().toISOString(), channel: message.channel },
      },
      known,
    );
    const { state } = outcome;
    if (outcome.events.some((e) => e.type === 'MessageExpired')) this.deps.onOutcome?.('expired');
    if (state.status === 'initial' || state.direction !== 'outbound' || isTerminalStatus(state.status)) {
      this.inFlight.delete(message.messageId);
      return;
    }
    this.remember(message.messageId, { state, revision: outcome.revision });
    // The channel the message was dispatched to (at accept time a number's channel; a resumed message keeps its own).
    const channel = this.channels.get(state.channel);
    if (!channel) {
      this.deps.logger.error({ messageId: message.messageId, channel: state.channel }, 'no channel of this kind runs here; the message waits for the resume sweep');
      return;
    }
    if (state.status === 'dispatched') {
      if (outcome.events.length > 0) this.deps.onOutcome?.('dispatched');
      const send: ChannelSend = {
        messageId: message.messageId,
        accountId: message.accountId,
        from: message.from,
        to: message.to,
        body: message.body,
        segmentCount: message.segmentCount,
        expiresAt: message.expiresAt,
        ...(outcome.events.length === 0 ? { resumed: true } : {}),
      };
      channel.send(send);
    } else if (state.status === 'sent') {
      // Sent before a restart: only the receipt is still owed, and this channel makes it.
      channel.awaitReceipt?.(message.messageId);
    }
  }

  sent(messageId: string, providerMessageId: string | null, source?: ReportSource): Promise<void> {
    return this.report(messageId, 'sent', source, (ref) => ({ type: 'RecordMessageSent', data: { ...ref, providerMessageId } }));
  }

  delivered(messageId: string, dlrDate: string | null, source?: ReportSource): Promise<void> {
    return this.report(messageId, 'delivered', source, (ref) => ({ type: 'RecordMessageDelivered', data: { ...ref, dlrDate } }));
  }

  undelivered(messageId: string, errorCode: number, reason: string, dlrDate: string | null, source?: ReportSource): Promise<void> {
    return this.report(messageId, 'undelivered', source, (ref) => ({ type: 'RecordMessageUndelivered', data: { ...ref, errorCode, reason, dlrDate } }));
  }

  failed(messageId: string, errorCode: number, reason: string, source?: ReportSource): Promise<void> {
    return this.report(messageId, 'failed', source, (ref) => ({ type: 'FailMessage', data: { ...ref, errorCode, reason } }));
  }

  /**
   * An SMS reached one of our numbers. Its stream id is derived from the channel's key, so the
   * same SMS reported again is recorded once (the decider ignores a repeated RecordInboundMessage).
   */
  async received(sms: ChannelInboundSms, channel: ChannelKind): Promise<void> {
    const number = await findNumber(this.deps.db, sms.to);
    if (!number) throw new ChannelReportRefusedError(`inbound SMS to ${sms.to}, which is not a provisioned number`);
    const segments = countSegments(sms.body);
    await executeMessageCommand(this.deps.store, {
      type: 'RecordInboundMessage',
      data: {
        messageId: inboundMessageId(channel, sms.key),
        accountId: number.accountId,
        now: this.clock().toISOString(),
        from: sms.from,
        to: sms.to,
        body: sms.body,
        segments: { encoding: segments.encoding, count: segments.count },
        channel,
      },
    });
  }

  /**
   * Reports of one message are recorded one after another, in the order the channel made them.
   * The promise resolves once the report is appended (or was already): only then may the channel
   * acknowledge it to its peer.
   */
  private report(messageId: string, outcome: ReportOutcome, source: ReportSource | undefined, command: (ref: MessageRef) => MessageCommand): Promise<void> {
    const previous = this.reportChains.get(messageId) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.recordWithRetry(messageId, outcome, source, command));
    this.reportChains.set(messageId, next);
    void next
      .catch(() => undefined)
      .finally(() => {
        if (this.reportChains.get(messageId) === next) this.reportChains.delete(messageId);
      });
    return next;
  }

  private async recordWithRetry(
    messageId: string,
    outcome: ReportOutcome,
    source: ReportSource | undefined,
    command: (ref: MessageRef) => MessageCommand,
  ): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const known = this.inFlight.get(messageId) ?? (await readMessageState(this.deps.store, messageStreamId(messageId)));
        const { state } = known;
        // Another tenant's message answers exactly like an unknown one.
        if (state.status === 'initial' || (source && (state.accountId !== source.accountId || state.channel !== source.channel))) {
          throw new ChannelReportRefusedError(`${outcome} reported for message ${messageId}, which does not exist`);
        }
        const result = await executeMessageCommand(
          this.deps.store,
          command({ messageId, accountId: state.accountId, now: this.clock().toISOString() }),
          known,
        );
        if (result.events.length > 0) this.deps.onOutcome?.(outcome);
        this.remember(messageId, { state: result.state, revision: result.revision });
        return;
      } catch (error) {
        if (error instanceof ChannelReportRefusedError) throw error;
        if (error instanceof MessageRuleViolation) throw new ChannelReportRefusedError(`${outcome} reported for message ${messageId}: ${error.message}`);
        // A report is a fact we must not lose: keep trying while we own the channel. Once we do
        // not, the caller hears it failed (a device or SMSC then repeats it to the next owner).
        if (!this.active && attempt > 3) throw error;
        this.deps.logger.warn({ err: error, messageId, outcome, attempt }, 'recording a channel report failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, Math.min(100 * 2 ** attempt, 5000)));
      }
    }
  }

  private inLane(sender: string, work: () => Promise<void>): Promise<void> {
    const previous = this.lanes.get(sender) ?? Promise.resolve();
    const mine = previous.catch(() => undefined).then(work);
    const settled = mine.catch(() => undefined);
    this.lanes.set(sender, settled);
    void settled.then(() => {
      if (this.lanes.get(sender) === settled) this.lanes.delete(sender);
    });
    return mine;
  }
}

/**
 * Runs the backlog send of one message in the context it was queued in: a span (`dispatch
 * backlog send`) whose parent is the stored `traceparent` (a new trace when there is none), with
 * the message's ids and the stored correlation id as the log context. The events it appends, and
 * the channel's reports on the message (its timers start inside), carry the message's trace and
 * request.
 */
function inQueuedContext(message: QueuedMessage, work: () => Promise<void>): Promise<void> {
  const fields: LogFields = { messageId: message.messageId, accountId: message.accountId };
  if (message.correlationId) fields.correlationId = message.correlationId;
  return runWithLogFields(fields, () =>
    inSpan('dispatch backlog send', { kind: SpanKind.INTERNAL, parent: contextFromTraceparent(message.traceParent) }, () => work()),
  );
}

function toQueuedMessage(state: {
  messageId: string;
  accountId: string;
  channel: ChannelKind;
  from: string;
  to: string;
  body: string | null;
  segments: { count: number };
  queuedAt: string | null;
  acceptedAt: string;
  expiresAt: string;
}): QueuedMessage {
  return {
    messageId: state.messageId,
    accountId: state.accountId,
    channel: state.channel,
    from: state.from,
    to: state.to,
    body: state.body ?? '',
    segmentCount: state.segments.count,
    queuedAt: new Date(state.queuedAt ?? state.acceptedAt),
    expiresAt: new Date(state.expiresAt),
  };
}

export { toQueuedMessage };
