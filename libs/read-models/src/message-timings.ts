import type { MessageEvent } from '@reach/contracts';
import type { MessageView } from './message-view';

/** The lifecycle steps whose latency is measured (PRODUCT.md §3). */
export type TimedTransition =
  | { readonly from: 'accepted'; readonly to: 'queued' }
  | { readonly from: 'queued'; readonly to: 'dispatched' }
  | { readonly from: 'dispatched'; readonly to: 'sent' }
  | { readonly from: 'sent'; readonly to: 'delivered' };

/**
 * How long one step of one message took, from the events' own timestamps (not from when the
 * projection saw them, so a projection catching up reports the real latencies).
 * `end_to_end`: accepted → delivered.
 */
export type MessageTiming =
  | ({ readonly kind: 'transition'; readonly seconds: number } & TimedTransition)
  | { readonly kind: 'end_to_end'; readonly seconds: number };

/**
 * The timings an event completes, given the view before it. Scheduled messages wait on purpose
 * until their time: their accepted → queued and end-to-end figures would measure the schedule,
 * not the platform, so they have none. Steps whose start is unknown (a view folded from an old
 * row without it) yield nothing. Clock differences between services never make a negative
 * duration: those count as 0.
 */
export function messageTimings(before: MessageView | null, event: MessageEvent): MessageTiming[] {
  if (before === null || before.direction !== 'outbound') return [];
  const scheduled = before.scheduledFor !== null;
  switch (event.type) {
    case 'MessageQueued':
      return before.status === 'accepted' && !scheduled
        ? [transition({ from: 'accepted', to: 'queued' }, before.createdAt, event.data.queuedAt)]
        : [];
    case 'MessageDispatched':
      return before.status === 'queued' && before.queuedAt !== null
        ? [transition({ from: 'queued', to: 'dispatched' }, before.queuedAt, event.data.dispatchedAt)]
        : [];
    case 'MessageSent':
      return before.status === 'dispatched' && before.dispatchedAt !== null
        ? [transition({ from: 'dispatched', to: 'sent' }, before.dispatchedAt, event.data.sentAt)]
        : [];
    case 'MessageDelivered': {
      if (before.status !== 'sent' || before.sentAt === null) return [];
      const timings: MessageTiming[] = [transition({ from: 'sent', to: 'delivered' }, before.sentAt, event.data.deliveredAt)];
      if (!scheduled) timings.push({ kind: 'end_to_end', seconds: secondsBetween(before.createdAt, event.data.deliveredAt) });
      return timings;
    }
    case 'MessageAccepted':
    case 'MessageReceived':
    case 'MessageScheduled':
    case 'MessageUndelivered':
    case 'MessageFailed':
    case 'MessageCanceled':
    case 'MessageExpired':
    case 'MessageBodyRedacted':
    case 'MessageDeleted':
      return [];
    default: {
      const unreachable: never = event;
      return unreachable;
    }
  }
}

function transition(step: TimedTransition, start: Date, end: string): MessageTiming {
  return { kind: 'transition', ...step, seconds: secondsBetween(start, end) };
}

function secondsBetween(start: Date, end: string): number {
  return Math.max(0, Date.parse(end) - start.getTime()) / 1000;
}
