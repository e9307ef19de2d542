import { z } from 'zod';

/**
 * Event-store stream names and NATS naming. Subjects and JetStream names are built under a
 * namespace (default `reach`) so several platforms, or parallel test runs, share one NATS.
 */
const MESSAGE_STREAM_PREFIX = 'message-';

export function messageStreamId(messageId: string): string {
  return `${MESSAGE_STREAM_PREFIX}${messageId}`;
}

export function messageIdOfStream(streamId: string): string | null {
  return streamId.startsWith(MESSAGE_STREAM_PREFIX) ? streamId.slice(MESSAGE_STREAM_PREFIX.length) : null;
}

export const Namespace = z.string().regex(/^[a-z][a-z0-9]{0,31}$/, 'namespace: lowercase letters and digits, starting with a letter');

export interface NatsNames {
  /** JetStream stream holding every relayed store event. */
  eventsStream: string;
  /** JetStream stream holding commands to services (durable, deduplicated by id). */
  commandsStream: string;
  /** JetStream stream holding messages that consumers gave up on. */
  deadLetterStream: string;
  /** Subject of one relayed event type, e.g. `reach.events.v1.MessageSent`. */
  eventSubject(eventType: string): string;
  /** Wildcard over every relayed event. */
  allEvents: string;
  commandSubject(command: CommandName): string;
  allCommands: string;
  deadLetterSubject(consumer: string): string;
  allDeadLetters: string;
  /** Key-value bucket: which numbers' phones are online (key = digits of the E.164 number). */
  presenceBucket: string;
  /** Key-value bucket: where the dispatcher that owns the channels serves devices (read by the public edge). */
  channelOwnerBucket: string;
  consumerName(service: string, purpose: string): string;
}

export const commandNames = ['simulate-inbound'] as const;
export type CommandName = (typeof commandNames)[number];

export function natsNames(namespace: string): NatsNames {
  const ns = Namespace.parse(namespace);
  const upper = ns.toUpperCase();
  return {
    eventsStream: `${upper}_EVENTS`,
    commandsStream: `${upper}_COMMANDS`,
    deadLetterStream: `${upper}_DLQ`,
    eventSubject: (eventType) => `${ns}.events.v1.${eventType}`,
    allEvents: `${ns}.events.v1.>`,
    commandSubject: (command) => `${ns}.commands.v1.${command}`,
    allCommands: `${ns}.commands.v1.>`,
    deadLetterSubject: (consumer) => `${ns}.dlq.v1.${consumer}`,
    allDeadLetters: `${ns}.dlq.v1.>`,
    presenceBucket: `${ns}-presence`,
    channelOwnerBucket: `${ns}-channel-owner`,
    consumerName: (service, purpose) => `${service}-${purpose}`,
  };
}

/** KV keys allow no `+`: a number's presence key is its E.164 digits. */
export function presenceKey(e164: string): string {
  return e164.replace(/^\+/, '');
}
