/**
 * The ReachCell webhook event types an endpoint can subscribe to. `account.suspended` and
 * `account.balance.low` are named by the dialect but not emitted by this platform yet, so a
 * subscription to them is refused rather than accepted and never served.
 */
export const reachCellWebhookEvents = ['sms.received', 'sms.sent', 'sms.delivered', 'sms.failed', 'number.assigned', 'number.released'] as const;
export type ReachCellWebhookEvent = (typeof reachCellWebhookEvents)[number];

export function isReachCellWebhookEvent(value: string): value is ReachCellWebhookEvent {
  return (reachCellWebhookEvents as readonly string[]).includes(value);
}

/** The `{event_id, event_type, api_version, timestamp, data}` body of every ReachCell delivery. */
export interface ReachCellEnvelope {
  readonly event_id: string;
  readonly event_type: ReachCellWebhookEvent;
  readonly api_version: 'v1';
  readonly timestamp: string;
  readonly data: unknown;
}
