import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { FiredTimer } from './fire-timers/timer-firing-loop';
import type { PendingTimers } from './scheduler';

/** The scheduler's Prometheus metrics, fed by the scheduler's hooks. */
export function createSchedulerMetrics(registry: Registry) {
  const fired = new Counter({
    name: 'reach_scheduler_timers_fired_total',
    help: 'Timer firings by kind and outcome (applied, noop, retry, dropped)',
    labelNames: ['kind', 'outcome'],
    registers: [registry],
  });
  const lateness = new Histogram({
    name: 'reach_scheduler_timer_lateness_seconds',
    help: 'Time from a timer falling due to its command being issued',
    labelNames: ['kind'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const pending = new Gauge({
    name: 'reach_scheduler_timers_pending',
    help: 'Timers recorded and not yet fired (from table statistics: approximate; recounted periodically)',
    registers: [registry],
  });
  const overdue = new Gauge({
    name: 'reach_scheduler_timers_overdue',
    help: 'Timers due and not yet fired (capped at 100000; recounted periodically)',
    registers: [registry],
  });
  return {
    onFired({ timer, outcome, firedAt }: FiredTimer): void {
      fired.inc({ kind: timer.kind, outcome });
      lateness.observe({ kind: timer.kind }, Math.max(0, firedAt.getTime() - timer.dueAt.getTime()) / 1000);
    },
    onPendingCounted(counts: PendingTimers): void {
      pending.set(counts.pending);
      overdue.set(counts.overdue);
    },
  };
}
