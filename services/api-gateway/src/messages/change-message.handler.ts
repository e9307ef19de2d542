import { Inject, Injectable } from '@nestjs/common';
import type { MessageCommandOf } from '@reach/contracts';
import { PLATFORM, executeMessageCommand, type CommandOutcome, type PlatformConnections } from '@reach/infrastructure';
import { addLogFields } from '@reach/telemetry';

export type MessageChange = MessageCommandOf<'CancelMessage'> | MessageCommandOf<'RedactMessageBody'> | MessageCommandOf<'DeleteMessage'>;

/**
 * Runs a customer's change to an existing message (cancel, redact, delete) through the decider:
 * read the stream, decide, append with the expected revision. Rule violations
 * (MessageRuleViolation) propagate with their stable codes for the dialect to map.
 */
@Injectable()
export class ChangeMessageHandler {
  constructor(@Inject(PLATFORM) private readonly platform: PlatformConnections) {}

  execute(command: MessageChange): Promise<CommandOutcome> {
    addLogFields({ messageId: command.data.messageId });
    return executeMessageCommand(this.platform.store, command);
  }
}
