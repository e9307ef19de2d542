import { randomUUID } from 'node:crypto';
import { MessageEvent, messageStreamId, type MessageCommand } from '@reach/contracts';
import { WrongExpectedRevisionError, type EventStore } from '@reach/event-store';
import { decide, evolve, initialState, type MessageState } from '@reach/message-domain';
import { messageEventMetadata } from './message-event-metadata';

export interface CommandOutcome {
  readonly events: readonly MessageEvent[];
  /** The message's state after the command (unchanged when the command was already applied). */
  readonly state: MessageState;
  readonly revision: bigint | 'no_stream';
}

export interface KnownStreamState {
  readonly state: MessageState;
  readonly revision: bigint | 'no_stream';
}

/**
 * Read the stream, fold, decide, append with the expected revision. A conflict means someone
 * else appended first: re-read and decide again (the decider makes repeats harmless). A caller
 * that already knows the stream's state (it appended the last event itself) passes it in and
 * saves the read; if it was stale, the conflict path corrects it.
 */
export async function executeMessageCommand(
  store: EventStore,
  command: MessageCommand,
  known?: KnownStreamState,
  maxAttempts = 5,
): Promise<CommandOutcome> {
  const streamId = messageStreamId(command.data.messageId);
  let current = known ?? (await readMessageState(store, streamId));
  for (let attempt = 1; ; attempt++) {
    const events = decide(command, current.state);
    if (events.length === 0) return { events, state: current.state, revision: current.revision };
    const next = events.reduce(evolve, current.state);
    try {
      const metadata = {
        ...messageEventMetadata(command.data),
        command: command.type,
        occurredAt: command.data.now,
        // Lets the callbacks planner skip reading the stream of a message nobody asked to hear about.
        statusCallback: 'statusCallback' in next && next.statusCallback !== null,
      };
      const result = await store.appendToStream(
        streamId,
        events.map((e) => ({ eventId: randomUUID(), type: e.type, data: e.data, metadata })),
        { expectedRevision: current.revision },
      );
      return { events, state: next, revision: result.nextExpectedRevision };
    } catch (error) {
      if (!(error instanceof WrongExpectedRevisionError) || attempt >= maxAttempts) throw error;
      current = await readMessageState(store, streamId);
    }
  }
}

export async function readMessageState(store: EventStore, streamId: string): Promise<KnownStreamState> {
  const recorded = await store.readStream(streamId);
  if (recorded.length === 0) return { state: initialState(), revision: 'no_stream' };
  let state = initialState();
  // Parse at the boundary: a stored event that no longer matches its schema must fail loudly.
  for (const r of recorded) state = evolve(state, MessageEvent.parse({ type: r.type, data: r.data }));
  return { state, revision: recorded[recorded.length - 1]!.revision };
}
