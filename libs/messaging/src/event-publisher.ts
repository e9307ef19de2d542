import type { JetStreamClient, PubAck } from 'nats';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { NatsNames } from '@reach/contracts';
import { SpanKind, contextFromTraceHeaders, inSpan, runWithLogFields } from '@reach/telemetry';
import { logFieldsOfEvent, messageHeaders, messagingAttributes } from './message-trace';

/**
 * The wire payload of one store event relayed to JetStream, on subject
 * `names.eventSubject(type)` with `Nats-Msg-Id` = `eventId`. `revision` (the event's revision in
 * its stream) and `position` (its place in the store's global log) are strings because they are
 * 64-bit numbers; consumers that need order within a stream compare `BigInt(revision)`.
 */
export const RelayedEvent = z.object({
  eventId: z.uuid(),
  type: z.string().min(1),
  streamId: z.string().min(1),
  revision: z.string().regex(/^\d+$/, 'revision: a non-negative integer as a decimal string'),
  position: z.string().regex(/^\d+\/\d+$/, 'position: "commit/prepare" as decimal strings'),
  data: z.unknown(),
  metadata: z.record(z.string(), z.unknown()),
  createdAt: z.iso.datetime({ offset: true }),
});
export type RelayedEvent = z.infer<typeof RelayedEvent>;

const encoder = new TextEncoder();

/**
 * Publishes one relayed event. At-least-once: a republish of the same event within the events
 * stream's duplicate window is stored once and acked with `duplicate: true`.
 *
 * Each publish is a PRODUCER span whose parent is the trace context the event was appended in
 * (its metadata's `traceparent`); the span's context and the event's correlation id, message and
 * account travel in the NATS headers (message-trace.ts), where consumers pick them up.
 */
export async function publishEvent(js: JetStreamClient, names: NatsNames, event: RelayedEvent, logger?: Logger): Promise<PubAck> {
  const parsed = RelayedEvent.parse(event);
  const subject = names.eventSubject(parsed.type);
  const fields = logFieldsOfEvent(parsed);
  const attributes = messagingAttributes('send', subject, {
    'messaging.message.id': parsed.eventId,
    'reach.event.type': parsed.type,
    'reach.stream.id': parsed.streamId,
  });
  return runWithLogFields(fields, () =>
    inSpan(`publish ${subject}`, { kind: SpanKind.PRODUCER, parent: contextFromTraceHeaders(parsed.metadata), attributes }, async () => {
      const ack = await js.publish(subject, encoder.encode(JSON.stringify(parsed)), {
        msgID: parsed.eventId,
        expect: { streamName: names.eventsStream },
        headers: messageHeaders(fields),
      });
      logger?.debug({ eventId: parsed.eventId, type: parsed.type, seq: ack.seq, duplicate: ack.duplicate }, 'event relayed');
      return ack;
    }),
  );
}

/**
 * Publishes a batch with every publish in flight at once, and resolves, with the acks in the
 * batch's order, once all of them are acked. If any failed it throws after all have settled, so
 * the caller can republish the whole batch (the ones that did land are deduplicated) and must
 * not advance its checkpoint.
 */
export async function publishEvents(js: JetStreamClient, names: NatsNames, events: readonly RelayedEvent[], logger?: Logger): Promise<PubAck[]> {
  const results = await Promise.allSettled(events.map((event) => publishEvent(js, names, event, logger)));
  const acks: PubAck[] = [];
  const failures: { eventId: string; reason: unknown }[] = [];
  results.forEach((result, index) => {
    if (result.status === 'fulfilled') acks.push(result.value);
    else failures.push({ eventId: events[index]?.eventId ?? '?', reason: result.reason });
  });
  const first = failures[0];
  if (first !== undefined) {
    throw new EventPublishError(
      `${failures.length} of ${events.length} events were not acked by JetStream; first: ${first.eventId}: ${String(first.reason)}`,
      failures.map((failure) => failure.eventId),
      { cause: first.reason },
    );
  }
  return acks;
}

export class EventPublishError extends Error {
  override readonly name = 'EventPublishError';
  readonly code = 'EVENT_PUBLISH_FAILED';

  constructor(
    message: string,
    readonly failedEventIds: readonly string[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
