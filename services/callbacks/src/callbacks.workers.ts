import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Logger } from 'pino';
import { parseApiKeySecret, signingApiKey } from '@reach/accounts';
import { LOGGER, PLATFORM, type PlatformConnections } from '@reach/infrastructure';
import { runDurableConsumer, type DurableConsumer } from '@reach/messaging';
import { createSafeDispatcher, type SafeDispatcher } from '@reach/outbound-http';
import { Metrics } from '@reach/service-runtime';
import { CALLBACKS_CONFIG, type CallbacksConfig } from './config';
import { DeliveryWorker } from './delivery/delivery-worker';
import { SigningKeys } from './delivery/signing-keys';
import { createMessageEventsPlanner, notifyingEventTypes } from './planning/message-events.consumer';

/**
 * The callbacks service's moving parts, on every replica: the planner (relayed events → outbox
 * rows, a competing JetStream consumer) and the delivery worker (outbox → HTTP, rows claimed
 * with SKIP LOCKED so replicas share the work).
 */
@Injectable()
export class CallbacksWorkers implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly dispatcher: SafeDispatcher;
  private readonly worker: DeliveryWorker;
  private readonly planned: Counter;
  private planners: DurableConsumer[] = [];

  constructor(
    @Inject(PLATFORM) private readonly platform: PlatformConnections,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(CALLBACKS_CONFIG) private readonly config: CallbacksConfig,
    metrics: Metrics,
  ) {
    const registers = [metrics.registry];
    this.planned = new Counter({ name: 'reach_callbacks_deliveries_planned_total', help: 'Deliveries recorded in the outbox', registers });
    const attempts = new Counter({
      name: 'reach_callbacks_attempts_total',
      help: 'Delivery attempts by kind and outcome',
      labelNames: ['kind', 'outcome'],
      registers,
    });
    const latency = new Histogram({
      name: 'reach_callbacks_attempt_duration_seconds',
      help: 'Time from request to answer of delivery attempts that got an HTTP answer',
      labelNames: ['kind'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15],
      registers,
    });
    const lag = new Histogram({
      name: 'reach_callbacks_delivery_lag_seconds',
      help: 'Time from outbox insert to successful delivery',
      labelNames: ['kind'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 300, 3600, 86_400],
      registers,
    });
    this.dispatcher = createSafeDispatcher({
      allowPrivate: config.WEBHOOKS_ALLOW_PRIVATE_NETWORKS,
      connectTimeoutMs: Math.min(config.CALLBACKS_HTTP_TIMEOUT_MS, 10_000),
    });
    const { db } = platform;
    const apiKeySecret = parseApiKeySecret(config.REACH_API_KEY_SECRET);
    this.worker = new DeliveryWorker({
      db,
      dispatcher: this.dispatcher,
      signingKeys: new SigningKeys(db, (accountId) => signingApiKey(db, apiKeySecret, accountId)),
      logger: logger.child({ component: 'delivery-worker' }),
      timing: { timeScale: config.CALLBACKS_TIME_SCALE, random: Math.random },
      httpTimeoutMs: config.CALLBACKS_HTTP_TIMEOUT_MS,
      maxInFlight: config.CALLBACKS_MAX_IN_FLIGHT,
      endpointConcurrency: config.CALLBACKS_ENDPOINT_CONCURRENCY,
      pollIntervalMs: config.CALLBACKS_POLL_INTERVAL_MS,
      retentionMs: config.CALLBACKS_RETENTION_DAYS * 86_400_000,
      onAttempt: (delivery, result) => {
        attempts.inc({ kind: delivery.kind, outcome: result.outcome });
        if (result.latencyMs !== null) latency.observe({ kind: delivery.kind }, result.latencyMs / 1000);
        if (result.nextState === 'succeeded') lag.observe({ kind: delivery.kind }, (Date.now() - delivery.createdAt.getTime()) / 1000);
      },
    });
    const worker = this.worker;
    new Gauge({
      name: 'reach_callbacks_attempts_in_flight',
      help: 'Delivery attempts outstanding in this process',
      registers,
      collect() {
        this.set(worker.activeAttempts);
      },
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    const { nc, names, db, store } = this.platform;
    this.worker.start();
    const handler = createMessageEventsPlanner({
      db,
      store,
      clock: () => new Date(),
      onPlanned: (count) => {
        this.planned.inc(count);
        this.worker.wake();
      },
    });
    // One durable per event type that can notify, so the planner is never handed the events that
    // cannot (accepted, scheduled, dispatched…): nats-server 2.9 takes one filter subject per
    // consumer. Planning reads the stream from its start, so no order across them is needed.
    for (const type of notifyingEventTypes) {
      this.planners.push(
        await runDurableConsumer(nc, {
          names,
          stream: names.eventsStream,
          durable: names.consumerName('callbacks', `planner-${type}`),
          filterSubjects: [names.eventSubject(type)],
          handler,
          logger: this.logger.child({ component: 'delivery-planner', eventType: type }),
          concurrency: this.config.CALLBACKS_PLANNER_CONCURRENCY,
          batchSize: 128,
          maxAckPending: 2000,
          // A handler that throws met a transient fault (the database away): keep retrying with
          // backoff for as long as it takes rather than dead-lettering a notification.
          maxDeliveries: 10_000,
          // Planning one event takes milliseconds: a replica that died holding events hands them
          // to the others after 10 s instead of the default 30 s.
          ackWaitMs: 10_000,
        }),
      );
    }
  }

  /** Stop planning, let attempts in flight finish and record them, then close the HTTP pool. */
  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all(this.planners.map((planner) => planner.stop()));
    await this.worker.stop();
    await this.dispatcher.close();
  }
}
