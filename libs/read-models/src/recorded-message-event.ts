import { MessageEvent, isMessageEventType, messageIdOfStream } from '@reach/contracts';
import type { RecordedEvent } from '@reach/event-store';

export interface RecordedMessageEvent {
  readonly event: MessageEvent;
  readonly messageId: string;
  readonly revision: bigint;
}

/**
 * Parses a stored event as a message event (parse at every boundary). Events of other streams
 * or types yield null; a message event that fails its schema is a bug and throws loudly.
 */
export function asMessageEvent(recorded: RecordedEvent): RecordedMessageEvent | null {
  const messageId = messageIdOfStream(recorded.streamId);
  if (messageId === null || !isMessageEventType(recorded.type)) return null;
  const parsed = MessageEvent.safeParse({ type: recorded.type, data: recorded.data });
  if (!parsed.success) {
    throw new Error(`event ${recorded.eventId} (${recorded.type}) in ${recorded.streamId} does not match its schema: ${parsed.error.message}`);
  }
  return { event: parsed.data, messageId, revision: recorded.revision };
}
