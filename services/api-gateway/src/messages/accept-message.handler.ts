import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { ChannelKind, Dialect, MessageEvent, MessageEventOf } from '@reach/contracts';
import { PLATFORM, executeMessageCommand, type PlatformConnections } from '@reach/infrastructure';
import { countSegments, initialState } from '@reach/message-domain';
import { addLogFields } from '@reach/telemetry';
import type { AuthenticatedAccount } from '../http/authenticated-account';

export interface AcceptRequest {
  readonly account: AuthenticatedAccount;
  readonly from: string;
  readonly to: string;
  readonly body: string;
  readonly channel: ChannelKind;
  readonly dialect: Dialect;
  readonly validityPeriodSeconds: number;
  readonly now: Date;
  /** Chosen by the caller when something (a balance reservation) is keyed by it first. */
  readonly messageId?: string;
  readonly bulkId?: string | null;
  readonly statusCallback?: string | null;
  readonly maxPrice?: number | null;
  readonly scheduledFor?: Date | null;
  readonly price?: { readonly amount: number; readonly unit: string } | null;
}

/**
 * Records a validated send as the first events of a new message stream (expected revision: no
 * stream). Nothing else is written: the relay carries the events on to the dispatcher, so the
 * API never writes to the store and NATS as two steps.
 */
@Injectable()
export class AcceptMessageHandler {
  constructor(@Inject(PLATFORM) private readonly platform: PlatformConnections) {}

  async accept(request: AcceptRequest): Promise<MessageEventOf<'MessageAccepted'>['data']> {
    const events = await this.record(request);
    const accepted = events.find((e) => e.type === 'MessageAccepted');
    if (!accepted || accepted.type !== 'MessageAccepted') throw new Error(`accepting a message produced no MessageAccepted event`);
    return accepted.data;
  }

  /** Appends the new message's first events and returns them (accepted, then queued, scheduled or failed). */
  async record(request: AcceptRequest): Promise<readonly MessageEvent[]> {
    const segments = countSegments(request.body);
    const messageId = request.messageId ?? randomUUID();
    addLogFields({ messageId });
    const outcome = await executeMessageCommand(
      this.platform.store,
      {
        type: 'AcceptMessage',
        data: {
          messageId,
          accountId: request.account.id,
          now: request.now.toISOString(),
          from: request.from,
          to: request.to,
          body: request.body,
          segments: { encoding: segments.encoding, count: segments.count },
          channel: request.channel,
          dialect: request.dialect,
          bulkId: request.bulkId ?? null,
          statusCallback: request.statusCallback ?? null,
          maxPrice: request.maxPrice ?? null,
          validityPeriodSeconds: request.validityPeriodSeconds,
          scheduledFor: request.scheduledFor?.toISOString() ?? null,
          billing: request.account.billing,
          ...(request.price !== undefined && { price: request.price }),
        },
      },
      { state: initialState(), revision: 'no_stream' },
    );
    if (outcome.events.length === 0) throw new Error(`message ${messageId} already exists`);
    return outcome.events;
  }
}
