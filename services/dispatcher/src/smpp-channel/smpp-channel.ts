import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Db } from '@reach/database';
import {
  type BackoffPolicy,
  type DeliverSmAck,
  type EncodedMessage,
  SmppBindClosedError,
  SmppBindLostError,
  type SmppBindState,
  type SmppFinalReceipt,
  type SmppMoMessage,
  SmppStatus,
  SmppSubmitRejectedError,
  SmppValidityElapsedError,
  backoffDelay,
  encodeMessage,
  fromSmppAddress,
  toSmppAddress,
} from '@reach/smpp-channel';
import type { ChannelHooks, ChannelSend, OutboundChannel } from '../channels/outbound-channel';
import { type SmppChannelMetrics, createSmppChannelMetrics } from './smpp-channel.metrics';
import { type SmppBindTuning, SmppConnectorBinds } from './smpp-connector-binds';
import type { LoadSmppConnectors, LoadSmppRoutes, SmppRoute } from './smpp-connectors';
import {
  type ChannelFailure,
  type SubmittedPart,
  bindLostFailure,
  connectorDisabledFailure,
  decideMessageReceipt,
  moKey,
  noRouteFailure,
  submitRejectedFailure,
  validityElapsedFailure,
} from './smpp-outcomes';
import {
  type ReceiptToRecord,
  type RecordedReceipt,
  type SubmissionRow,
  insertSubmissions,
  isRowError,
  partsOfMessages,
  recordPartReceipts,
} from './smpp-submissions.repository';
import { StatementBatcher } from './statement-batcher';

export interface SmppChannelOptions {
  /** Holds `smpp_submissions` (carrier id → message), read by receipts. */
  readonly db: Db;
  readonly logger: Logger;
  /** Enabled connectors, password in clear. */
  readonly loadConnectors: LoadSmppConnectors;
  readonly loadRoutes: LoadSmppRoutes;
  /** Where `reach_smpp_*` metrics go; none without. */
  readonly registry?: Registry;
  readonly clock?: () => Date;
  /** How often connectors and routes are read again (`reachctl connector …` takes effect). Default 10 s. */
  readonly refreshIntervalMs?: number;
  /** A connector whose bind the SMSC refused (credentials) is tried again after this long. Default 60 s. */
  readonly rejectedBindRetryMs?: number;
  /** enquire_link, response timeout, reconnect backoff, throttling pause, MO part hold, for every bind. */
  readonly bind?: SmppBindTuning;
  /** Submissions of one message that may lose their bind before the resp. Default 3. */
  readonly bindLossAttempts?: number;
  /** Transient rejections (throttled, queue full, system error) retried per message, and their backoff. Default 8, 1 s doubling to 30 s. */
  readonly transientRetries?: { readonly attempts: number; readonly backoff: BackoffPolicy };
  /** Pauses before looking a receipt's carrier id up again (its submission may be being recorded). Default 50, 200, 500, 1000 ms. */
  readonly unknownReceiptRetryDelaysMs?: readonly number[];
  readonly random?: () => number;
  /** Statements of each kind (parts lookup, submissions insert, receipts) running at once; concurrent calls beyond share the next one. Default 1. */
  readonly statementsInFlight?: number;
}

/** A part the SMSC accepted: where, and its carrier id. */
interface AcceptedPart {
  readonly connectorId: string;
  readonly carrierMessageId: string;
}

/** An accepted part whose row may not be written yet: receipts for it wait for `recorded`. */
interface PendingSubmission {
  readonly messageId: string;
  /** True once its row is in `smpp_submissions` and the message's report was made; false when the row could not be written. */
  readonly recorded: Promise<boolean>;
}

interface SubmissionState {
  readonly accepted: Map<number, AcceptedPart>;
  encoded: EncodedMessage | null;
  lostAttempts: number;
  transientAttempts: number;
  readonly recorded: { readonly promise: Promise<boolean>; readonly resolve: (recorded: boolean) => void };
}

const key = (...parts: string[]): string => parts.join('\u0000');

/**
 * The SMPP carrier channel: one transceiver bind per enabled connector, senders routed to a
 * connector, submit_sm per part, receipts and MO messages back as deliver_sm.
 *
 * - Sent = every part has its submit_sm_resp; the parts' carrier ids are written to
 *   `smpp_submissions` before `sent` is reported, so a receipt always finds its message (after a
 *   restart too).
 * - Receipts and MO messages are answered (deliver_sm_resp) only once what they say is recorded;
 *   otherwise the SMSC is asked to send them again (ESME_RX_T_APPN).
 * - A bind lost before a part's resp: the part is sent again when the bind is back (at least
 *   once: SMPP cannot tell whether the SMSC had it); parts with a resp keep their ids.
 * - A repeated `send` of a message in flight is the same message; one whose parts are all
 *   recorded (sent before a restart) is only reported sent again.
 * - `smpp_submissions` is group-committed: concurrent parts lookups, inserts and receipt
 *   recordings each share one statement per kind (a call waits for the statement after the one
 *   running, so it reads what completed before it). A message costs a lookup and an insert, a
 *   receipt one update (plus a read-back of the parts for a message of several).
 */
export class SmppChannel implements OutboundChannel {
  readonly kind = 'smpp' as const;
  private hooks: ChannelHooks | null = null;
  private stopping = false;
  /** (account, sender) → connector. */
  private routes = new Map<string, string>();
  /** sender → connectors it is routed to (for `isReady`, which knows only the sender). */
  private sendersRoutes = new Map<string, Set<string>>();
  private binds: SmppConnectorBinds;
  private readonly metrics: SmppChannelMetrics;
  private readonly log: Logger;
  private readonly clock: () => Date;
  private readonly random: () => number;
  private readonly inFlight = new Map<string, Promise<void>>();
  /** Receipts of one message are decided one after another. */
  private readonly receiptLanes = new Map<string, Promise<void>>();
  /** (connector, carrier id) → receipts of it being recorded or decided here (see `onReceipt`). */
  private readonly receiptsInHand = new Map<string, number>();
  /** (connector, carrier id) → message, for parts accepted and not yet in `smpp_submissions`. */
  private readonly pending = new Map<string, PendingSubmission>();
  /** Connectors `isReady` found too busy: their senders are woken when the load falls. */
  private readonly saturated = new Set<string>();
  private readonly waiters = new Set<() => void>();
  private readonly tasks = new Set<Promise<unknown>>();
  private refreshTimer: NodeJS.Timeout | null = null;
  /** `smpp_submissions` statements, each kind group-committed: concurrent calls share one statement. */
  private readonly partsLookups: StatementBatcher<string, SubmittedPart[]>;
  private readonly submissionInserts: StatementBatcher<readonly SubmissionRow[], undefined>;
  private readonly receiptRecords: StatementBatcher<ReceiptToRecord, RecordedReceipt | null>;

  constructor(private readonly options: SmppChannelOptions) {
    this.log = options.logger.child({ channel: 'smpp' });
    this.clock = options.clock ?? (() => new Date());
    this.random = options.random ?? Math.random;
    this.metrics = createSmppChannelMetrics(options.registry, () => this.binds.outstanding());
    this.binds = this.createBinds();
    const { db } = options;
    const batching = { maxInFlight: options.statementsInFlight ?? 1, splitOn: isRowError };
    this.partsLookups = new StatementBatcher((ids) => partsOfMessages(db, ids), batching);
    this.submissionInserts = new StatementBatcher(async (rowsOfEach) => {
      await insertSubmissions(db, rowsOfEach.flat());
      return rowsOfEach.map(() => undefined);
    }, batching);
    this.receiptRecords = new StatementBatcher((receipts) => recordPartReceipts(db, receipts, this.clock()), batching);
  }

  /** Reads connectors and routes and opens the binds; does not wait for any bind to come up. Can start again after `stop`. */
  async start(hooks: ChannelHooks): Promise<void> {
    this.hooks = hooks;
    if (this.stopping) this.binds = this.createBinds();
    this.stopping = false;
    await this.refresh();
    this.scheduleRefresh();
  }

  isReady(sender: string): boolean {
    for (const connectorId of this.sendersRoutes.get(sender) ?? []) {
      const settings = this.binds.settingsOf(connectorId);
      // Routed to a disabled or removed connector: taken, to be failed (never sent some other way).
      if (!settings) return true;
      const bind = this.binds.bindOf(connectorId);
      const windowSize = settings.windowSize;
      if (bind?.state !== 'bound') continue;
      // Beyond two windows of parts waiting, a message handed over now would not go out at once.
      if (bind.outstanding + bind.queued < 2 * windowSize) return true;
      this.saturated.add(connectorId);
    }
    return false;
  }

  send(message: ChannelSend): void {
    if (this.stopping || this.inFlight.has(message.messageId)) return;
    const task = this.submitMessage(message)
      .catch((error: unknown) => this.log.error({ err: error, messageId: message.messageId }, 'SMPP submit failed unexpectedly; the resume sweep hands the message over again'))
      .finally(() => this.inFlight.delete(message.messageId));
    this.inFlight.set(message.messageId, task);
    this.track(task);
  }

  /** Nothing to do: the receipts come from the SMSC and find the message in `smpp_submissions`. */
  /** Unbinds every connector; messages being submitted are left to the dispatcher's resume. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.routes = new Map();
    this.sendersRoutes = new Map();
    this.saturated.clear();
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
    this.notifyWaiters();
    await this.binds.closeAll();
    while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
  }

  // --- configuration -------------------------------------------------------------------------

  private createBinds(): SmppConnectorBinds {
    return new SmppConnectorBinds({
      logger: this.log,
      tuning: this.options.bind ?? {},
      rejectedBindRetryMs: this.options.rejectedBindRetryMs ?? 60_000,
      metrics: this.metrics,
      random: this.random,
      handlers: {
        state: (connectorId, state) => this.onBindState(connectorId, state),
        receipt: (connectorId, receipt, ack) => this.track(this.answer(ack, () => this.onReceipt(connectorId, receipt))),
        mo: (connectorId, mo, ack) => this.track(this.answer(ack, () => this.onMo(connectorId, mo))),
      },
    });
  }

  private scheduleRefresh(): void {
    if (this.stopping || this.refreshTimer) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = null;
      void this.track(this.refresh())
        .catch((error: unknown) => this.log.error({ err: error }, 'SMPP connector refresh failed'))
        .finally(() => this.scheduleRefresh());
    }, this.options.refreshIntervalMs ?? 10_000);
  }

  private async refresh(): Promise<void> {
    let connectors;
    let routes;
    try {
      [connectors, routes] = await Promise.all([this.options.loadConnectors(), this.options.loadRoutes()]);
    } catch (error) {
      this.log.warn({ err: error }, 'could not read SMPP connectors and routes; keeping the last ones');
      return;
    }
    if (this.stopping) return;
    const bindsChanged = this.binds.apply(connectors);
    const routesChanged = this.applyRoutes(routes, new Map(connectors.map((c) => [c.id, c.accountId])));
    if (bindsChanged || routesChanged) {
      this.notifyWaiters();
      this.hooks?.wake();
    }
  }

  private applyRoutes(routes: readonly SmppRoute[], connectorAccounts: ReadonlyMap<string, string | null>): boolean {
    const next = new Map<string, string>();
    const bySender = new Map<string, Set<string>>();
    for (const route of routes) {
      const owner = connectorAccounts.get(route.connectorId);
      if (owner !== undefined && owner !== null && owner !== route.accountId) {
        this.log.warn({ route }, "route to another account's SMPP connector ignored");
        continue;
      }
      next.set(key(route.accountId, route.sender), route.connectorId);
      const connectors = bySender.get(route.sender) ?? new Set<string>();
      connectors.add(route.connectorId);
      bySender.set(route.sender, connectors);
    }
    const changed = next.size !== this.routes.size || [...next].some(([k, v]) => this.routes.get(k) !== v);
    this.routes = next;
    this.sendersRoutes = bySender;
    return changed;
  }

  private onBindState(connectorId: string, state: SmppBindState): void {
    this.notifyWaiters();
    if (state === 'bound') this.hooks?.wake();
    this.log.debug({ connector: connectorId, state }, 'SMPP connector state');
  }

  // --- outbound ------------------------------------------------------------------------------

  private async submitMessage(message: ChannelSend): Promise<void> {
    const log = this.log.child({ messageId: message.messageId });
    const recorded = deferred<boolean>();
    const state: SubmissionState = { accepted: new Map(), encoded: null, lostAttempts: 0, transientAttempts: 0, recorded };
    let persisted = false;
    try {
      const previous = await this.partsLookups.submit(message.messageId);
      const partCount = previous[0]?.partCount ?? 0;
      if (previous.length > 0 && new Set(previous.map((p) => p.partIndex)).size >= partCount) {
        // Every part was accepted before (a restart between recording and reporting): report again only.
        log.info('all parts were submitted before; reporting sent again');
        persisted = true;
        await this.report(log, () => this.reports().sent(message.messageId, previous.find((p) => p.partIndex === 1)?.carrierMessageId ?? null));
        return;
      }
      for (const p of previous) state.accepted.set(p.partIndex, { connectorId: p.connectorId, carrierMessageId: p.carrierMessageId });
      const failure = await this.submitParts(message, state, log);
      if (failure === 'stopped') {
        persisted = await this.persist(message, state, log);
        return;
      }
      if (failure) {
        persisted = await this.persist(message, state, log);
        log.warn({ failure }, 'SMPP submit failed');
        await this.report(log, () => this.reports().failed(message.messageId, failure.code, failure.reason));
        return;
      }
      persisted = await this.persist(message, state, log);
      if (!persisted) return;
      const first = state.accepted.get(1)?.carrierMessageId ?? null;
      await this.report(log, () => this.reports().sent(message.messageId, first));
    } finally {
      recorded.resolve(persisted);
      for (const part of state.accepted.values()) this.pending.delete(key(part.connectorId, part.carrierMessageId));
    }
  }

  /** Submits until every part is accepted (null), the message fails, or the channel stops. */
  private async submitParts(message: ChannelSend, state: SubmissionState, log: Logger): Promise<ChannelFailure | 'stopped' | null> {
    const maxLost = this.options.bindLossAttempts ?? 3;
    const transient = this.options.transientRetries ?? { attempts: 8, backoff: { initialDelayMs: 1000, maxDelayMs: 30_000 } };
    for (;;) {
      if (this.stopping) return 'stopped';
      if (this.clock() >= message.expiresAt) return validityElapsedFailure();
      const connectorId = this.routes.get(key(message.accountId, message.from));
      if (!connectorId) return noRouteFailure(message.from);
      const settings = this.binds.settingsOf(connectorId);
      if (!settings) return connectorDisabledFailure(message.from, connectorId);
      const bind = this.binds.bindOf(connectorId);
      if (!bind || bind.state !== 'bound') {
        await this.waitForChange(message.expiresAt);
        continue;
      }
      const encoded = (state.encoded ??= encodeMessage(message.body, bind.nextReference()));
      const missing = encoded.parts.map((p) => p.seq).filter((seq) => !state.accepted.has(seq));
      if (missing.length === 0) return null;
      const results = await bind.submitParts({
        source: toSmppAddress(message.from, settings.source),
        destination: toSmppAddress(message.to, settings.destination),
        message: encoded,
        parts: missing,
        expiresAt: message.expiresAt,
        // Known at once: a part's receipt may come before the other parts' resps.
        onPart: (result) => {
          if (result.ok) this.pending.set(key(connectorId, result.messageId), { messageId: message.messageId, recorded: state.recorded.promise });
        },
      });
      this.releaseIfDrained(connectorId);
      let lost = false;
      let retryable: SmppSubmitRejectedError | null = null;
      let verdict: ChannelFailure | null = null;
      for (const result of results) {
        if (result.ok) {
          state.accepted.set(result.seq, { connectorId, carrierMessageId: result.messageId });
          this.metrics.submitted(connectorId, 'accepted');
          continue;
        }
        const { error } = result;
        if (error instanceof SmppSubmitRejectedError) {
          this.metrics.submitted(connectorId, error.transient ? 'transient' : 'rejected');
          if (error.transient) retryable ??= error;
          else verdict ??= submitRejectedFailure(error);
        } else if (error instanceof SmppValidityElapsedError) {
          this.metrics.submitted(connectorId, 'expired');
          verdict ??= validityElapsedFailure();
        } else if (error instanceof SmppBindLostError) {
          this.metrics.submitted(connectorId, 'lost');
          lost = true;
        } else if (error instanceof SmppBindClosedError) {
          this.metrics.submitted(connectorId, 'closed'); // connector removed or changed: routed again
        }
      }
      if (state.accepted.size === encoded.parts.length) return null;
      if (verdict) return verdict;
      if (lost) {
        state.lostAttempts += 1;
        if (state.lostAttempts >= maxLost) return bindLostFailure(state.lostAttempts);
        log.warn({ attempt: state.lostAttempts, accepted: state.accepted.size, parts: encoded.parts.length }, 'SMPP bind lost before submit_sm_resp; sending the unanswered parts again when it is back');
      } else if (retryable) {
        state.transientAttempts += 1;
        if (state.transientAttempts > transient.attempts) return submitRejectedFailure(retryable);
        const delayMs = backoffDelay(transient.backoff, state.transientAttempts - 1, this.random());
        log.info({ status: retryable.statusName, delayMs, attempt: state.transientAttempts }, 'SMSC asked to retry submit_sm later');
        await this.sleep(Math.min(delayMs, Math.max(0, message.expiresAt.getTime() - this.clock().getTime())));
      }
    }
  }

  /**
   * Writes the accepted parts to `smpp_submissions` (kept trying while the channel runs: a part
   * the SMSC has must be findable by its receipt). False when it could not be written.
   */
  private async persist(message: ChannelSend, state: SubmissionState, log: Logger): Promise<boolean> {
    const partCount = state.encoded?.parts.length ?? 0;
    const rows: SubmissionRow[] = [...state.accepted].map(([partIndex, part]) => ({
      connectorId: part.connectorId,
      carrierMessageId: part.carrierMessageId,
      messageId: message.messageId,
      partIndex,
      partCount: Math.max(partCount, partIndex),
    }));
    if (rows.length === 0) return true;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.submissionInserts.submit(rows);
        return true;
      } catch (error) {
        if (this.stopping && attempt >= 3) {
          log.error({ err: error, rows }, 'could not record the accepted SMPP parts; their receipts will not find the message');
          return false;
        }
        log.warn({ err: error, attempt }, 'recording the accepted SMPP parts failed; retrying');
        await this.sleep(Math.min(100 * 2 ** attempt, 5000));
      }
    }
  }

  /** Makes a report; a failed one is logged (the dispatcher's resume sweep hands the message over again). */
  private async report(log: Logger, make: () => Promise<void>): Promise<void> {
    try {
      await make();
    } catch (error) {
      if (isRefusal(error)) log.warn({ err: error }, 'the dispatcher refused the SMPP report');
      else log.error({ err: error }, 'could not record the SMPP report; the message is resumed later');
    }
  }

  private releaseIfDrained(connectorId: string): void {
    if (!this.saturated.has(connectorId)) return;
    const bind = this.binds.bindOf(connectorId);
    const windowSize = this.binds.settingsOf(connectorId)?.windowSize ?? 1;
    if (bind && bind.outstanding + bind.queued >= windowSize) return;
    this.saturated.delete(connectorId);
    for (const [sender, connectors] of this.sendersRoutes) if (connectors.has(connectorId)) this.hooks?.wake(sender);
  }

  // --- inbound -------------------------------------------------------------------------------

  /**
   * A part's final receipt: recorded on its row (which names the message), then, once the
   * message's outcome is known, the message's report. Resolves with the deliver_sm_resp status.
   */
  private async onReceipt(connectorId: string, receipt: SmppFinalReceipt): Promise<number> {
    const release = this.holdReceipt(connectorId, receipt.messageId);
    try {
      return await this.recordAndDecide(connectorId, receipt, release);
    } finally {
      release();
    }
  }

  /** `release` ends the receipt's being in hand, as soon as its decision is made. */
  private async recordAndDecide(connectorId: string, receipt: SmppFinalReceipt, release: () => void): Promise<number> {
    const log = this.log.child({ connector: connectorId, carrierMessageId: receipt.messageId });
    const recorded = await this.recordReceipt(connectorId, receipt);
    if (recorded === null) {
      this.metrics.receipted(connectorId, 'unknown');
      log.warn({ stat: receipt.stat }, 'receipt for a carrier id with no submission; asking the SMSC to send it again later');
      return SmppStatus.ESME_RX_T_APPN;
    }
    const { part, fresh } = recorded;
    if (fresh) this.metrics.receipted(connectorId, receipt.outcome);
    // Receipts of one message are decided one at a time, each ignoring the parts whose receipts
    // are still in hand here (being recorded, or waiting for their own decision): of parts
    // receipted together, only the last decision sees them all, so the outcome is reported once.
    return this.inReceiptLane(part.messageId, async () => {
      // A message's only row: its outcome is this receipt's. Otherwise read back (repeats too:
      // the first receipt counts, and its report may have failed).
      let parts: SubmittedPart[];
      try {
        parts = recorded.alone ? [part] : this.withoutReceiptsInHand(await this.partsLookups.submit(part.messageId), part);
      } finally {
        release();
      }
      const decision = decideMessageReceipt(parts);
      log.debug({ messageId: part.messageId, stat: receipt.stat, decision }, 'SMPP receipt');
      switch (decision.kind) {
        case 'pending':
          return SmppStatus.OK;
        case 'delivered':
          await this.reports().delivered(part.messageId, decision.dlrDate);
          return SmppStatus.OK;
        case 'undelivered':
          // Reported when its deciding part came; a repeated receipt reports again (that report may have failed).
          if (fresh && part.partIndex !== decision.partIndex) return SmppStatus.OK;
          await this.reports().undelivered(part.messageId, decision.errorCode, decision.reason, decision.dlrDate);
          return SmppStatus.OK;
        default: {
          const never: never = decision;
          throw new Error(`unknown decision ${JSON.stringify(never)}`);
        }
      }
    });
  }

  private inReceiptLane<T>(messageId: string, work: () => Promise<T>): Promise<T> {
    const previous = this.receiptLanes.get(messageId) ?? Promise.resolve();
    const mine = previous.then(work, work);
    const settled = mine.then(
      () => undefined,
      () => undefined,
    );
    this.receiptLanes.set(messageId, settled);
    void settled.then(() => {
      if (this.receiptLanes.get(messageId) === settled) this.receiptLanes.delete(messageId);
    });
    return mine;
  }

  /**
   * Marks a receipt as in hand from before its row is updated until its decision is made: a
   * decision reading the row back meanwhile (the update may be visible before its answer is
   * back here) leaves it to that later decision. The returned function ends it (once).
   */
  private holdReceipt(connectorId: string, carrierMessageId: string): () => void {
    const partKey = key(connectorId.toLowerCase(), carrierMessageId);
    this.receiptsInHand.set(partKey, (this.receiptsInHand.get(partKey) ?? 0) + 1);
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      const left = (this.receiptsInHand.get(partKey) ?? 1) - 1;
      if (left > 0) this.receiptsInHand.set(partKey, left);
      else this.receiptsInHand.delete(partKey);
    };
  }

  /** The parts read back, those whose receipt is in hand (other than `mine`) as not yet receipted. */
  private withoutReceiptsInHand(parts: readonly SubmittedPart[], mine: SubmittedPart): SubmittedPart[] {
    const mineKey = key(mine.connectorId.toLowerCase(), mine.carrierMessageId);
    return parts.map((p) => {
      const partKey = key(p.connectorId.toLowerCase(), p.carrierMessageId);
      return partKey !== mineKey && this.receiptsInHand.has(partKey) ? { ...p, receipt: null } : p;
    });
  }

  /**
   * Records the receipt on its part's row, which names the message. A part accepted moments ago
   * may have no row yet (the receipt can overtake its writing, even the resp's handling): its
   * receipt waits in memory until the row is written and `sent` reported, rather than missing
   * it. A carrier id no row has is looked for again a few times before giving up (null).
   */
  private async recordReceipt(connectorId: string, receipt: SmppFinalReceipt): Promise<RecordedReceipt | null> {
    const delays = this.options.unknownReceiptRetryDelaysMs ?? [50, 200, 500, 1000];
    const { outcome, stat, err, dlrDate } = receipt;
    const toRecord: ReceiptToRecord = { connectorId, carrierMessageId: receipt.messageId, receipt: { outcome, stat, err, dlrDate } };
    for (let attempt = 0; ; attempt++) {
      await this.pending.get(key(connectorId, receipt.messageId))?.recorded;
      const recorded = await this.receiptRecords.submit(toRecord);
      if (recorded) return recorded;
      const delay = delays[attempt];
      if (delay === undefined || this.stopping) return null;
      await this.sleep(delay);
    }
  }

  private async onMo(connectorId: string, mo: SmppMoMessage): Promise<number> {
    const sms = {
      key: moKey(connectorId, mo),
      from: fromSmppAddress(mo.source, mo.sourceTon ?? undefined),
      to: fromSmppAddress(mo.destination, mo.destinationTon ?? undefined),
      body: mo.text,
    };
    try {
      await this.reports().received(sms, 'smpp');
    } catch (error) {
      if (!isRefusal(error)) throw error;
      // Not ours to record (no such number): asking again would not change that.
      this.log.warn({ err: error, connector: connectorId, from: sms.from, to: sms.to }, 'MO refused; answering the SMSC with a permanent error');
      return SmppStatus.ESME_RX_P_APPN;
    }
    this.log.info({ connector: connectorId, key: sms.key, from: sms.from, to: sms.to, parts: mo.concatenation?.total ?? 1 }, 'SMPP MO recorded');
    return SmppStatus.OK;
  }

  /** Answers a deliver_sm with what handling it resolved to; a report that could not be made asks the SMSC to send it again. */
  private async answer(ack: DeliverSmAck, handle: () => Promise<number>): Promise<void> {
    let status: number;
    try {
      status = await handle();
    } catch (error) {
      if (isRefusal(error)) {
        this.log.warn({ err: error }, 'the dispatcher refused a deliver_sm report; accepted, nothing to record');
        status = SmppStatus.OK;
      } else {
        this.log.warn({ err: error }, 'could not record a deliver_sm; asking the SMSC to send it again later');
        status = SmppStatus.ESME_RX_T_APPN;
      }
    }
    try {
      ack(status);
    } catch (error) {
      this.log.error({ err: error }, 'could not answer a deliver_sm (the SMSC sends it again)');
    }
  }

  // --- plumbing ------------------------------------------------------------------------------

  private reports(): ChannelHooks['reports'] {
    if (!this.hooks) throw new Error('SmppChannel used before start()');
    return this.hooks.reports;
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.tasks.add(promise);
    void promise.finally(() => this.tasks.delete(promise)).catch(() => undefined);
    return promise;
  }

  private notifyWaiters(): void {
    for (const wake of [...this.waiters]) wake();
  }

  /** Until a bind or the configuration changes, the channel stops, `until`, or at most 5 s (then the caller looks again). */
  private waitForChange(until: Date): Promise<void> {
    return this.waitFor(Math.min(5000, until.getTime() - this.clock().getTime()));
  }

  /** A pause that ends early only when the channel stops. */
  private async sleep(ms: number): Promise<void> {
    const end = Date.now() + ms;
    while (!this.stopping && Date.now() < end) await this.waitFor(end - Date.now());
  }

  private waitFor(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.waiters.add(done);
    });
  }
}

function deferred<T>(): { readonly promise: Promise<T>; readonly resolve: (value: T) => void } {
  let resolve: (value: T) => void = () => undefined;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** The dispatcher's ChannelReportRefusedError: the fact can never be recorded (unknown message, number not ours). */
function isRefusal(error: unknown): boolean {
  return error instanceof Error && (error as { code?: unknown }).code === 'CHANNEL_REPORT_REFUSED';
}
