import { Inject, Injectable } from '@nestjs/common';
import { messageStreamId, MessageEvent } from '@reach/contracts';
import { LOGGER, PLATFORM, type PlatformConnections } from '@reach/infrastructure';
import { evolveMessageView, findMessage, type MessageView } from '@reach/read-models';
import type { Logger } from 'pino';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Reads one message for one account. The row of the read model and the message's event stream
 * are read together; events the projection has not folded yet are folded on top of the row. So
 * a client always reads its own writes (a deletion included) while keeping what only the read
 * model knows (the overage charge). Another account's message answers exactly like an unknown one.
 */
@Injectable()
export class MessageReader {
  constructor(
    @Inject(PLATFORM) private readonly platform: PlatformConnections,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async find(accountId: string, messageId: string): Promise<MessageView | null> {
    if (!UUID.test(messageId)) return null;
    const id = messageId.toLowerCase();
    const [row, recorded] = await Promise.all([
      findMessage(this.platform.db, accountId, id),
      this.platform.store.readStream(messageStreamId(id)),
    ]);
    let view: MessageView | null = row;
    for (const r of recorded) {
      if (row !== null && r.revision <= row.streamRevision) continue;
      const parsed = MessageEvent.safeParse({ type: r.type, data: r.data });
      if (!parsed.success) {
        this.logger.error({ eventId: r.eventId, streamId: r.streamId }, 'stored event does not match its schema');
        return null;
      }
      view = evolveMessageView(view, parsed.data, r.revision);
    }
    return view && view.accountId === accountId ? view : null;
  }

  /**
   * The message folded from its event stream, bypassing the read model: what a use case that
   * just appended answers with (the projection may not have caught up yet). A deleted message
   * folds to null.
   */
  async findInStream(accountId: string, messageId: string): Promise<MessageView | null> {
    if (!UUID.test(messageId)) return null;
    const id = messageId.toLowerCase();
    const recorded = await this.platform.store.readStream(messageStreamId(id));
    let view: MessageView | null = null;
    for (const r of recorded) {
      const parsed = MessageEvent.safeParse({ type: r.type, data: r.data });
      if (!parsed.success) {
        this.logger.error({ eventId: r.eventId, streamId: r.streamId }, 'stored event does not match its schema');
        return null;
      }
      view = evolveMessageView(view, parsed.data, r.revision);
    }
    return view && view.accountId === accountId ? view : null;
  }
}
