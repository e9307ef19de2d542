import { Injectable } from '@nestjs/common';
import { Counter } from 'prom-client';
import type { Dialect } from '@reach/contracts';
import { Metrics } from '@reach/service-runtime';

/**
 * `reach_messages_accepted_total{dialect, status}`: sends the gateway accepted, by dialect and the
 * status word it answered (ReachCell `dispatched` / `queued`, Reach `queued` / `scheduled` /
 * `failed`…). Counted by the controller once the append succeeded; a repeat answered from an
 * idempotency key is not a new message and is not counted.
 */
@Injectable()
export class AcceptedMessagesMetric {
  private readonly accepted: Counter<'dialect' | 'status'>;

  constructor(metrics: Metrics) {
    this.accepted = new Counter({
      name: 'reach_messages_accepted_total',
      help: 'Messages accepted by the gateway, by dialect and the status answered',
      labelNames: ['dialect', 'status'],
      registers: [metrics.registry],
    });
  }

  record(dialect: Dialect, status: string): void {
    this.accepted.inc({ dialect, status });
  }
}
