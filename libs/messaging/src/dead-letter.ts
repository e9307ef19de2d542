import { headers as createHeaders, type JetStreamClient, type MsgHdrs, type PubAck } from 'nats';
import type { NatsNames } from '@reach/contracts';

/** Headers a dead letter carries next to the original payload and the original's own headers. */
export const DeadLetterHeader = {
  subject: 'Reach-Dead-Letter-Subject',
  stream: 'Reach-Dead-Letter-Stream',
  streamSequence: 'Reach-Dead-Letter-Stream-Sequence',
  deliveryCount: 'Reach-Dead-Letter-Delivery-Count',
  reason: 'Reach-Dead-Letter-Reason',
  consumer: 'Reach-Dead-Letter-Consumer',
} as const;

export interface DeadLetter {
  /** The durable consumer that gave up; the dead letter goes to `names.deadLetterSubject(consumer)`. */
  readonly consumer: string;
  readonly stream: string;
  readonly subject: string;
  readonly streamSequence: number;
  readonly deliveryCount: number;
  readonly reason: string;
  readonly data: Uint8Array;
  readonly headers: MsgHdrs | undefined;
}

/** Header values are one line; long reasons (stack traces) are cut, the log has the rest. */
const MAX_REASON_LENGTH = 1_000;

/**
 * Stores a message a consumer gave up on in the dead-letter stream. Deduplicated by
 * `consumer:streamSequence`, so a consumer that dead-letters the same message twice (it
 * crashed before `term` reached the server) stores it once.
 */
export async function publishDeadLetter(js: JetStreamClient, names: NatsNames, letter: DeadLetter): Promise<PubAck> {
  const hdrs = createHeaders();
  // The original's application headers travel along; its JetStream headers (Nats-Msg-Id, ...)
  // would clash with the dead-letter stream's own bookkeeping.
  for (const [key, values] of letter.headers ?? []) {
    if (key.toLowerCase().startsWith('nats-')) continue;
    for (const value of values) hdrs.append(key, value);
  }
  hdrs.set(DeadLetterHeader.subject, letter.subject);
  hdrs.set(DeadLetterHeader.stream, letter.stream);
  hdrs.set(DeadLetterHeader.streamSequence, String(letter.streamSequence));
  hdrs.set(DeadLetterHeader.deliveryCount, String(letter.deliveryCount));
  hdrs.set(DeadLetterHeader.reason, oneLine(letter.reason));
  hdrs.set(DeadLetterHeader.consumer, letter.consumer);
  return js.publish(names.deadLetterSubject(letter.consumer), letter.data, {
    headers: hdrs,
    msgID: `${letter.consumer}:${letter.streamSequence}`,
    expect: { streamName: names.deadLetterStream },
  });
}

function oneLine(text: string): string {
  const flat = text.replace(/[\r\n]+/g, ' ').trim() || 'unspecified';
  return flat.length > MAX_REASON_LENGTH ? `${flat.slice(0, MAX_REASON_LENGTH)}...` : flat;
}
