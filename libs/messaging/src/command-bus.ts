import type { JetStreamClient, PubAck } from 'nats';
import type { z } from 'zod';
import { SimulateInbound, type CommandName, type NatsNames } from '@reach/contracts';
import { SpanKind, currentLogFields, inSpan } from '@reach/telemetry';
import { messageHeaders, messagingAttributes } from './message-trace';

/** The payload schema of every command on the commands stream. */
export const commandSchemas = {
  'simulate-inbound': SimulateInbound,
} as const satisfies Record<CommandName, z.ZodType>;

export type CommandPayload<C extends CommandName> = z.infer<(typeof commandSchemas)[C]>;

const encoder = new TextEncoder();

/**
 * Publishes a command to the commands stream (durable, unlike core NATS request/reply). The
 * command id is the dedupe key: a retried publish within the duplicate window is stored once.
 */
export async function publishCommand<C extends CommandName>(
  js: JetStreamClient,
  names: NatsNames,
  command: C,
  payload: CommandPayload<C>,
  commandId: string,
): Promise<PubAck> {
  const parsed = commandSchemas[command].parse(payload);
  if (parsed.commandId !== commandId) {
    throw new Error(`${command}: payload commandId ${parsed.commandId} differs from the publish's commandId ${commandId}`);
  }
  const subject = names.commandSubject(command);
  // A PRODUCER span under the caller's context; its trace context and log fields ride in the headers.
  const attributes = messagingAttributes('send', subject, { 'messaging.message.id': commandId });
  return inSpan(`publish ${subject}`, { kind: SpanKind.PRODUCER, attributes }, () =>
    js.publish(subject, encoder.encode(JSON.stringify(parsed)), {
      msgID: commandId,
      expect: { streamName: names.commandsStream },
      headers: messageHeaders(currentLogFields()),
    }),
  );
}

/** Parses a command read back from the commands stream; throws (a poison message) when invalid. */
export function parseCommand<C extends CommandName>(command: C, payload: unknown): CommandPayload<C> {
  return commandSchemas[command].parse(payload) as CommandPayload<C>;
}
