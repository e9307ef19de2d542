import { reachCellTime } from '@reach/read-models';
import type { DeliveryDetail } from '@reach/webhooks';

/**
 * A delivery (a status callback or a webhook call) as the ReachCell API shows it. The payload and
 * the receivers' response excerpts stay out: the API shows what happened, not what was said.
 */
export interface ReachCellDelivery {
  id: string;
  kind: DeliveryDetail['kind'];
  webhook_id: string | null;
  message_id: string | null;
  event_id: string;
  event_type: string;
  url: string;
  state: DeliveryDetail['state'];
  attempts: number;
  next_attempt_at: string | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: string;
  completed_at: string | null;
  attempt_log: ReachCellDeliveryAttempt[];
}

export interface ReachCellDeliveryAttempt {
  attempt: number;
  started_at: string;
  latency_ms: number | null;
  status_code: number | null;
  outcome: DeliveryDetail['attemptLog'][number]['outcome'];
  error: string | null;
}

const optionalTime = (date: Date | null) => (date ? reachCellTime(date) : null);

export function presentReachCellDelivery(delivery: DeliveryDetail): ReachCellDelivery {
  return {
    id: delivery.id,
    kind: delivery.kind,
    webhook_id: delivery.webhookId,
    message_id: delivery.messageId,
    event_id: delivery.eventId,
    event_type: delivery.eventType,
    url: delivery.url,
    state: delivery.state,
    attempts: delivery.attempts,
    next_attempt_at: optionalTime(delivery.nextAttemptAt),
    last_status_code: delivery.lastStatusCode,
    last_error: delivery.lastError,
    created_at: reachCellTime(delivery.createdAt),
    completed_at: optionalTime(delivery.completedAt),
    attempt_log: delivery.attemptLog.map((a) => ({
      attempt: a.attempt,
      started_at: reachCellTime(a.startedAt),
      latency_ms: a.latencyMs,
      status_code: a.statusCode,
      outcome: a.outcome,
      error: a.error,
    })),
  };
}
