import { reachCellStatusOf, type ReachCellStatus } from '@reach/contracts';
import type { MessageView } from './message-view';

/** A message as the ReachCell v1 API shows it (GET /v1/sms/{id}, list items). */
export interface ReachCellMessage {
  message_id: string;
  from: string;
  to: string;
  body: string | null;
  direction: 'outbound' | 'inbound';
  segment_count: number;
  status: ReachCellStatus;
  failure_reason: string | null;
  sent_at: string | null;
  delivered_at: string | null;
  cost_usd: number | null;
  created_at: string;
}

/** ReachCell timestamps are UTC to the second: `2026-06-08T13:30:06Z`. */
export function reachCellTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const optionalTime = (d: Date | null) => (d ? reachCellTime(d) : null);

export function presentReachCellMessage(v: MessageView): ReachCellMessage {
  const status = reachCellStatusOf(v.status);
  return {
    message_id: v.messageId,
    from: v.from,
    to: v.to,
    body: v.body,
    direction: v.direction,
    segment_count: v.segmentCount,
    status,
    failure_reason: status === 'failed' ? (v.failureReason ?? failureReasonOf(v)) : null,
    sent_at: optionalTime(v.sentAt),
    delivered_at: optionalTime(v.deliveredAt),
    cost_usd: v.costUsd,
    created_at: reachCellTime(v.createdAt),
  };
}

function failureReasonOf(v: MessageView): string {
  return v.status === 'canceled' ? 'Canceled before it was sent' : 'Failed';
}
