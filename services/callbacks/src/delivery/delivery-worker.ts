import type { Logger } from 'pino';
import type { Db } from '@reach/database';
import {
  deliver,
  ForbiddenDestinationError,
  InvalidDestinationUrlError,
  isOutboundHttpError,
  type DeliveryResponse,
  type SafeDispatcher,
} from '@reach/outbound-http';
import {
  cancelOpenDeliveries,
  claimDueDeliveries,
  disableWebhook,
  nextRetryDelayMs,
  parseRetryAfter,
  purgeFinishedDeliveries,
  reclaimAbandonedDeliveries,
  releaseUnstartedDeliveries,
  recordAttemptResults,
  verdictForStatus,
  type AttemptResult,
  type AttemptVerdict,
  type ClaimedDelivery,
  type RetryTiming,
} from '@reach/webhooks';
import { runDetached } from '@reach/telemetry';
import { attemptTraceHeaders, recordAttemptStatus, traceDeliveryAttempt } from './delivery-attempt.trace';
import { buildSignedRequest } from './signed-request';
import type { SigningKeys } from './signing-keys';

export interface DeliveryWorkerOptions {
  readonly db: Db;
  readonly dispatcher: SafeDispatcher;
  readonly signingKeys: SigningKeys;
  readonly logger: Logger;
  readonly timing: RetryTiming;
  /** Whole-attempt budget (connect, send, answer). */
  readonly httpTimeoutMs: number;
  /** Attempts in flight in this process, across all endpoints. */
  readonly maxInFlight: number;
  /** Attempts in flight to one endpoint (a webhook, or a callback origin) in this process. */
  readonly endpointConcurrency: number;
  /** How often to look for due deliveries when nothing wakes the worker. */
  readonly pollIntervalMs: number;
  /** Finished deliveries older than this are deleted, with their attempts. */
  readonly retentionMs: number;
  readonly clock?: () => Date;
  readonly onAttempt?: (delivery: ClaimedDelivery, result: AttemptResult) => void;
}

interface Lane {
  active: number;
  readonly waiting: ClaimedDelivery[];
  /** Attempts in a row that got no answer or a failure; reset by a success. */
  failureStreak: number;
}

/** After this many failures in a row an endpoint counts as down and gets a narrow lane. */
const DOWN_AFTER_FAILURES = 3;
/** Attempts in flight to an endpoint that is down: enough to notice it coming back. */
const DOWN_LANE_CONCURRENCY = 2;

const CLAIM_BATCH_LIMIT = 500;
const RESULT_FLUSH_SIZE = 200;
const RESULT_FLUSH_DELAY_MS = 5;
const RECLAIM_INTERVAL_MS = 5_000;
const CLAIM_GATHER_MS = 2;
const PURGE_INTERVAL_MS = 10 * 60_000;
const PURGE_BATCH = 5_000;

/**
 * Sends what the outbox holds. Each round claims due deliveries (leased, `in_flight`), runs
 * their attempts concurrently under a global and a per-endpoint cap, and writes the results in
 * batches. A slow or dead endpoint fills only its own lane: a full lane is left out of the next
 * claims, so healthy endpoints never wait behind it.
 *
 * Crash safety: a delivery is in the outbox before its first attempt; an attempt whose result
 * was never written (the process died) is taken over when its lease expires, with the same
 * delivery id, so the receiver can tell a repeat.
 */
export class DeliveryWorker {
  private readonly clock: () => Date;
  private readonly lanes = new Map<string, Lane>();
  private readonly attempts = new Set<Promise<void>>();
  private pendingResults: { delivery: ClaimedDelivery; result: AttemptResult; verdict: AttemptVerdict | null }[] = [];
  private flushTimer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();
  private inFlight = 0;
  private running = false;
  private loop: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;
  private woken = false;
  private reclaimTimer: NodeJS.Timeout | null = null;
  private purgeTimer: NodeJS.Timeout | null = null;

  constructor(private readonly options: DeliveryWorkerOptions) {
    this.clock = options.clock ?? (() => new Date());
  }

  /** Attempts outstanding in this process. */
  get activeAttempts(): number {
    return this.inFlight;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
    this.reclaimTimer = setInterval(() => void this.reclaim(), RECLAIM_INTERVAL_MS);
    this.purgeTimer = setInterval(() => void this.purge(), PURGE_INTERVAL_MS);
    void this.reclaim();
  }

  /** New deliveries may be due: look now instead of at the next poll. */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  /**
   * Graceful stop: claims nothing more, lets the attempts in flight finish (each is bounded by
   * the HTTP timeout) and writes their results. Deliveries claimed but not yet started go
   * back to pending at once, for another replica or the next start.
   */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.reclaimTimer) clearInterval(this.reclaimTimer);
    if (this.purgeTimer) clearInterval(this.purgeTimer);
    this.wake();
    await this.loop;
    const unstarted = [...this.lanes.values()].flatMap((lane) => lane.waiting.splice(0));
    this.inFlight -= unstarted.length;
    await releaseUnstartedDeliveries(this.options.db, unstarted).catch((error: unknown) =>
      this.options.logger.error({ err: error }, 'could not hand back unstarted deliveries; their leases will expire'),
    );
    await Promise.allSettled([...this.attempts]);
    await this.flushResults();
    await this.flushing;
  }

  private async run(): Promise<void> {
    while (this.running) {
      const capacity = Math.min(this.options.maxInFlight - this.inFlight, CLAIM_BATCH_LIMIT);
      if (capacity <= 0) {
        await this.sleep(this.options.pollIntervalMs);
        continue;
      }
      let claimed: ClaimedDelivery[] = [];
      try {
        claimed = await claimDueDeliveries(this.options.db, {
          limit: capacity,
          now: this.clock(),
          leaseMs: this.leaseMs(),
          excludeEndpoints: this.fullLanes(),
          perEndpointLimit: this.options.endpointConcurrency,
        });
      } catch (error) {
        this.options.logger.error({ err: error }, 'could not claim due deliveries; retrying');
        await this.sleep(1000);
        continue;
      }
      for (const delivery of claimed) this.admit(delivery);
      if (claimed.length < capacity) await this.sleep(this.options.pollIntervalMs);
      // Let finished attempts gather before the next claim: one claim for many free slots.
      await new Promise((resolve) => setTimeout(resolve, CLAIM_GATHER_MS));
    }
  }

  /** Long enough for a lane's waiting deliveries (at most one lane's worth) and one attempt each. */
  private leaseMs(): number {
    return 2 * this.options.httpTimeoutMs + 5_000;
  }

  private fullLanes(): string[] {
    const full: string[] = [];
    // A lane holds up to its concurrency in flight and as many again waiting, so it never runs
    // dry between two claims.
    for (const [key, lane] of this.lanes) if (lane.active + lane.waiting.length >= 2 * this.concurrencyOf(lane)) full.push(key);
    return full;
  }

  /**
   * An endpoint that keeps failing (timeouts above all) gets a lane of DOWN_LANE_CONCURRENCY, so
   * however many endpoints are down at once they cannot take the global slots healthy ones need.
   */
  private concurrencyOf(lane: Lane): number {
    return lane.failureStreak >= DOWN_AFTER_FAILURES ? Math.min(DOWN_LANE_CONCURRENCY, this.options.endpointConcurrency) : this.options.endpointConcurrency;
  }

  private admit(delivery: ClaimedDelivery): void {
    let lane = this.lanes.get(delivery.endpointKey);
    if (lane === undefined) {
      lane = { active: 0, waiting: [], failureStreak: 0 };
      this.lanes.set(delivery.endpointKey, lane);
    }
    this.inFlight += 1;
    if (lane.active < this.concurrencyOf(lane)) this.launch(delivery, lane);
    else lane.waiting.push(delivery);
  }

  private launch(delivery: ClaimedDelivery, lane: Lane): void {
    lane.active += 1;
    const attempt = traceDeliveryAttempt(delivery, this.options.logger, () => this.attempt(delivery))
      .then((succeeded) => {
        lane.failureStreak = succeeded ? 0 : lane.failureStreak + 1;
      })
      .catch((error: unknown) => this.options.logger.error({ err: error, deliveryId: delivery.id }, 'delivery attempt crashed'))
      .finally(() => {
        this.attempts.delete(attempt);
        this.inFlight -= 1;
        lane.active -= 1;
        while (this.running && lane.active < this.concurrencyOf(lane)) {
          const next = lane.waiting.shift();
          if (next === undefined) break;
          this.launch(next, lane);
        }
        this.handBackExcess(lane);
        // An idle lane is forgotten unless it remembers an endpoint that is down.
        if (lane.active === 0 && lane.waiting.length === 0 && lane.failureStreak === 0) this.lanes.delete(delivery.endpointKey);
        this.wake();
      });
    this.attempts.add(attempt);
  }

  /**
   * When a lane narrows (its endpoint went down), what waits beyond the narrow lane's share goes
   * back to pending now, instead of sitting out timeouts under a lease that may run out.
   */
  private handBackExcess(lane: Lane): void {
    const keep = this.concurrencyOf(lane);
    if (lane.waiting.length <= keep) return;
    const excess = lane.waiting.splice(keep);
    this.inFlight -= excess.length;
    releaseUnstartedDeliveries(this.options.db, excess).catch((error: unknown) =>
      this.options.logger.error({ err: error }, 'could not hand back deliveries of a down endpoint; their leases will expire'),
    );
  }

  /** Resolves true when the endpoint took the delivery (2xx), false for any failure of the endpoint. */
  private async attempt(delivery: ClaimedDelivery): Promise<boolean> {
    const startedAt = this.clock();
    const material = await this.options.signingKeys.materialFor(delivery);
    if ('unavailable' in material) {
      this.queueResult(delivery, this.finalResult(delivery, startedAt, material.outcome, null, null, material.unavailable), null);
      return true; // not the endpoint's doing
    }
    const request = buildSignedRequest(delivery, material, startedAt);
    let response: DeliveryResponse;
    try {
      response = await deliver(delivery.url, {
        method: 'POST',
        headers: { ...request.headers, ...attemptTraceHeaders() },
        body: request.body,
        timeoutMs: this.options.httpTimeoutMs,
        dispatcher: this.options.dispatcher,
      });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (error instanceof ForbiddenDestinationError || error instanceof InvalidDestinationUrlError) {
        // Retrying cannot help: the URL is invalid or points at a network webhooks may not reach.
        this.queueResult(delivery, this.finalResult(delivery, startedAt, 'failed', null, null, message), { outcome: 'failed' });
        return false;
      }
      if (!isOutboundHttpError(error)) this.options.logger.warn({ err: error, deliveryId: delivery.id }, 'unexpected delivery error');
      this.queueResult(delivery, this.retryResult(delivery, startedAt, null, null, message, null), { outcome: 'retry', retryAfterMs: null });
      return false;
    }
    recordAttemptStatus(response.status);
    const now = this.clock();
    const verdict = verdictForStatus(response.status, parseRetryAfter(response.headers['retry-after'], now));
    const excerpt = response.bodyText === '' ? null : response.bodyText.slice(0, 1024);
    switch (verdict.outcome) {
      case 'succeeded':
        this.queueResult(delivery, {
          ...this.base(delivery, startedAt, response.latencyMs, response.status, excerpt),
          outcome: 'succeeded',
          error: null,
          nextState: 'succeeded',
          nextAttemptAt: null,
          completedAt: now,
        }, verdict);
        return true;
      case 'endpoint_gone':
        this.queueResult(delivery, {
          ...this.base(delivery, startedAt, response.latencyMs, response.status, excerpt),
          outcome: 'endpoint_gone',
          error: 'the endpoint answered 410 Gone: it is disabled and nothing more is sent to it',
          nextState: 'failed',
          nextAttemptAt: null,
          completedAt: now,
        }, verdict);
        return false;
      case 'retry':
        this.queueResult(
          delivery,
          this.retryResult(delivery, startedAt, response.latencyMs, response.status, `HTTP ${response.status}`, excerpt, verdict.retryAfterMs),
          verdict,
        );
        return false;
      case 'failed':
        this.queueResult(delivery, this.finalResult(delivery, startedAt, 'failed', response.latencyMs, response.status, `HTTP ${response.status}`), verdict);
        return false;
      default: {
        const unreachable: never = verdict;
        return unreachable;
      }
    }
  }

  private base(delivery: ClaimedDelivery, startedAt: Date, latencyMs: number | null, statusCode: number | null, excerpt: string | null) {
    return { deliveryId: delivery.id, attempt: delivery.attempt, startedAt, latencyMs, statusCode, responseExcerpt: excerpt };
  }

  private retryResult(
    delivery: ClaimedDelivery,
    startedAt: Date,
    latencyMs: number | null,
    statusCode: number | null,
    error: string,
    excerpt: string | null,
    retryAfterMs: number | null = null,
  ): AttemptResult {
    const delay = nextRetryDelayMs(delivery.attempt, retryAfterMs, this.options.timing);
    const now = this.clock();
    if (delay === null) {
      return {
        ...this.base(delivery, startedAt, latencyMs, statusCode, excerpt),
        outcome: 'failed',
        error: `${error}; gave up after ${delivery.attempt} attempts`,
        nextState: 'failed',
        nextAttemptAt: null,
        completedAt: now,
      };
    }
    return {
      ...this.base(delivery, startedAt, latencyMs, statusCode, excerpt),
      outcome: 'retry',
      error,
      nextState: 'pending',
      nextAttemptAt: new Date(now.getTime() + delay),
      completedAt: null,
    };
  }

  private finalResult(
    delivery: ClaimedDelivery,
    startedAt: Date,
    state: 'failed' | 'canceled',
    latencyMs: number | null,
    statusCode: number | null,
    error: string,
  ): AttemptResult {
    return {
      ...this.base(delivery, startedAt, latencyMs, statusCode, null),
      outcome: 'failed',
      error,
      nextState: state,
      nextAttemptAt: null,
      completedAt: this.clock(),
    };
  }

  private queueResult(delivery: ClaimedDelivery, result: AttemptResult, verdict: AttemptVerdict | null): void {
    this.options.onAttempt?.(delivery, result);
    this.pendingResults.push({ delivery, result, verdict });
    // A flush writes many deliveries' results: it must not run in (and log as) this attempt's context.
    if (this.pendingResults.length >= RESULT_FLUSH_SIZE) void runDetached(() => this.flushResults());
    else this.flushTimer ??= runDetached(() => setTimeout(() => void this.flushResults(), RESULT_FLUSH_DELAY_MS));
  }

  /**
   * Writes queued results, one batch at a time. A failed write is retried with the batch kept;
   * should the process die first, the leases expire and the deliveries are attempted again.
   */
  private flushResults(): Promise<void> {
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = null;
    }
    this.flushing = this.flushing.then(async () => {
      while (this.pendingResults.length > 0) {
        const batch = this.pendingResults.splice(0, RESULT_FLUSH_SIZE);
        for (let attempt = 1; ; attempt += 1) {
          try {
            await recordAttemptResults(this.options.db, batch.map((entry) => entry.result));
            await this.applyEndpointGone(batch);
            break;
          } catch (error) {
            this.options.logger.error({ err: error, attempt }, 'could not record delivery results; retrying');
            if (attempt >= 5) return;
            await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
          }
        }
        this.wake();
      }
    });
    return this.flushing;
  }

  /** 410 Gone: a webhook is disabled; a status callback URL gets nothing more for that message. */
  private async applyEndpointGone(batch: readonly { delivery: ClaimedDelivery; verdict: AttemptVerdict | null }[]): Promise<void> {
    const now = this.clock();
    for (const { delivery, verdict } of batch) {
      if (verdict?.outcome !== 'endpoint_gone') continue;
      if (delivery.webhookId !== null) {
        await disableWebhook(this.options.db, delivery.webhookId, `answered 410 Gone to delivery ${delivery.id}`, now);
        this.options.logger.warn({ webhookId: delivery.webhookId, deliveryId: delivery.id }, 'webhook answered 410 Gone; disabled');
      } else {
        await cancelOpenDeliveries(this.options.db, { orderingKey: delivery.orderingKey }, 'the callback URL answered 410 Gone', now);
      }
    }
  }

  private async reclaim(): Promise<void> {
    try {
      const count = await reclaimAbandonedDeliveries(this.options.db, this.clock());
      if (count > 0) {
        this.options.logger.warn({ count }, 'took over deliveries whose worker stopped mid-attempt');
        this.wake();
      }
    } catch (error) {
      this.options.logger.error({ err: error }, 'could not reclaim abandoned deliveries');
    }
  }

  /** Deletes finished deliveries past retention, a batch at a time so no statement runs long. */
  private async purge(): Promise<void> {
    try {
      const before = new Date(this.clock().getTime() - this.options.retentionMs);
      let deleted = 0;
      for (let batch = PURGE_BATCH; batch === PURGE_BATCH && this.running; ) {
        batch = await purgeFinishedDeliveries(this.options.db, before, PURGE_BATCH);
        deleted += batch;
      }
      if (deleted > 0) this.options.logger.info({ deleted, before }, 'purged finished deliveries past retention');
    } catch (error) {
      this.options.logger.error({ err: error }, 'could not purge finished deliveries');
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.woken || !this.running) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wakeUp = null;
        this.woken = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = done;
    });
  }
}
