import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { LogLag, MessageTiming } from '@reach/read-models';

/** Seconds: a simulated send takes milliseconds; a phone that stays offline keeps a message queued for hours. */
const LATENCY_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400];

export interface ProjectorMetricsDeps {
  readonly registry: Registry;
  /** Reads how far the checkpoint `name` trails the log (see `readLogLag`). */
  readonly readLag: (name: string) => Promise<LogLag>;
  /** False for a store whose backlog cannot be counted cheaply (EventStoreDB): the event-count gauges are then left out. */
  readonly countsLagEvents: boolean;
  readonly relayCheckpoint: string;
  readonly projections: readonly string[];
  readonly logger: Logger;
}

/**
 * The projector's Prometheus metrics: events relayed and projected, the lifecycle latencies the
 * messages projection observes as it first applies each event, and the relay's and projections'
 * lag, read from the log and the checkpoints when scraped (so every replica reports the same,
 * whichever holds the leases).
 */
export function createProjectorMetrics(deps: ProjectorMetricsDeps) {
  const registers = [deps.registry];
  const relayed = new Counter({ name: 'reach_relay_events_total', help: 'Events published to JetStream by the relay', registers });
  const projected = new Counter({
    name: 'reach_projection_events_total',
    help: 'Events folded into read models',
    labelNames: ['projection'],
    registers,
  });
  const transitions = new Histogram({
    name: 'reach_message_transition_seconds',
    help: 'Time between lifecycle steps of outbound messages, from the events\' timestamps (accepted→queued only when not scheduled)',
    labelNames: ['from', 'to'],
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const endToEnd = new Histogram({
    name: 'reach_message_end_to_end_seconds',
    help: 'Time from accepted to delivered of outbound messages that were not scheduled',
    buckets: LATENCY_BUCKETS,
    registers,
  });

  const lag = scrapeOnce(deps.readLag, deps.logger);
  if (deps.countsLagEvents) {
    new Gauge({
      name: 'reach_relay_lag_events',
      help: 'Events in the log not yet relayed to JetStream (counted up to 100000)',
      registers,
      async collect() {
        const read = await lag(deps.relayCheckpoint);
        if (read && read.events !== null) this.set(read.events);
      },
    });
    new Gauge({
      name: 'reach_projection_lag_events',
      help: 'Events in the log not yet folded into the projection (counted up to 100000)',
      labelNames: ['projection'],
      registers,
      async collect() {
        for (const projection of deps.projections) {
          const read = await lag(projection);
          if (read && read.events !== null) this.set({ projection }, read.events);
        }
      },
    });
  }
  new Gauge({
    name: 'reach_relay_lag_seconds',
    help: 'Age of the oldest event not yet relayed to JetStream; 0 when caught up',
    registers,
    async collect() {
      const read = await lag(deps.relayCheckpoint);
      if (read) this.set(read.seconds);
    },
  });

  return {
    onRelayed(count: number): void {
      relayed.inc(count);
    },
    onProjected(projection: string, count: number, timings: readonly MessageTiming[] = []): void {
      projected.inc({ projection }, count);
      for (const timing of timings) {
        if (timing.kind === 'end_to_end') endToEnd.observe(timing.seconds);
        else transitions.observe({ from: timing.from, to: timing.to }, timing.seconds);
      }
    },
  };
}

/**
 * One read per checkpoint per scrape, shared by the gauges that show it; a failed read is logged
 * and leaves the gauges at their last value (a scrape never fails because the database is slow).
 */
function scrapeOnce(read: (name: string) => Promise<LogLag>, logger: Logger): (name: string) => Promise<LogLag | null> {
  const recent = new Map<string, { at: number; lag: Promise<LogLag | null> }>();
  return (name) => {
    const now = Date.now();
    const cached = recent.get(name);
    if (cached && now - cached.at < 1000) return cached.lag;
    const lag = read(name).catch((error: unknown) => {
      logger.warn({ err: error, checkpoint: name }, 'could not read the log lag');
      return null;
    });
    recent.set(name, { at: now, lag });
    return lag;
  };
}
