import { findNumber } from '@reach/accounts';
import { SimulateInbound } from '@reach/contracts';
import type { Db } from '@reach/database';
import type { EventStore } from '@reach/event-store';
import { executeMessageCommand } from '@reach/infrastructure';
import { countSegments } from '@reach/message-domain';
import type { ConsumedMessage, HandlerOutcome } from '@reach/messaging';

/**
 * An SMS arriving at a simulated phone (`reachctl simulate inbound`) becomes a MessageReceived
 * stream whose id is the command's id, so a redelivered command records nothing twice. A phone
 * that is offline receives nothing: the command waits and is retried until it comes back.
 */
export function createSimulatedInboundHandler(deps: { db: Db; store: EventStore; isOnline: (e164: string) => boolean; clock?: () => Date }) {
  return async (msg: ConsumedMessage): Promise<HandlerOutcome> => {
    const parsed = SimulateInbound.safeParse(msg.json());
    if (!parsed.success) return { kind: 'reject', reason: `invalid simulate-inbound command: ${parsed.error.message}` };
    const command = parsed.data;
    const number = await findNumber(deps.db, command.to);
    if (!number) return { kind: 'reject', reason: `${command.to} is not a provisioned number` };
    if (!deps.isOnline(command.to)) return { kind: 'retry', delayMs: 1000, reason: `the phone holding ${command.to} is offline` };
    const segments = countSegments(command.body);
    await executeMessageCommand(deps.store, {
      type: 'RecordInboundMessage',
      data: {
        messageId: command.commandId,
        accountId: number.accountId,
        now: (deps.clock?.() ?? new Date()).toISOString(),
        from: command.from,
        to: command.to,
        body: command.body,
        segments: { encoding: segments.encoding, count: segments.count },
        channel: number.channel,
      },
    });
    return { kind: 'ack' };
  };
}
