import { createHash } from 'node:crypto';

/**
 * The id of the delivery of one event to one target. Derived, not drawn: planning the same
 * event twice (every consumer is at-least-once) yields the same id, so the outbox insert is
 * idempotent and receivers see one id per delivery however often we try it.
 * The result is a UUID (version 8, RFC 9562's custom-content version).
 */
export function deliveryIdFor(eventId: string, target: string): string {
  const hex = createHash('sha256').update(`reach-delivery:v1:${eventId}:${target}`, 'utf8').digest('hex');
  const variant = ((parseInt(hex.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** The target name of a message's status callback (one per message). */
export const STATUS_CALLBACK_TARGET = 'status-callback';

export function webhookTarget(webhookId: string): string {
  return `webhook:${webhookId}`;
}
