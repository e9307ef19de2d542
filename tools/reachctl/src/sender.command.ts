import { addSender } from '@reach/accounts';
import type { Db } from '@reach/database';
import type { Command } from 'commander';
import type { CliContext } from './cli-context';
import { report } from './cli-output';

export interface AddSenderInput {
  readonly accountId: string;
  readonly sender: string;
}

export interface AddSenderResult {
  readonly accountId: string;
  readonly sender: string;
}

/** Idempotent for the same account and spelling; a case variant of a registered id is refused. */
export async function addSenderCommand(db: Db, input: AddSenderInput, now: Date): Promise<AddSenderResult> {
  const added = await addSender(db, { accountId: input.accountId, sender: input.sender, now });
  return { accountId: added.accountId, sender: added.sender };
}

export function registerSenderCommands(program: Command, context: CliContext): void {
  const sender = program.command('sender').description('manage the alphanumeric sender ids registered to accounts');
  sender
    .command('add')
    .description('register an alphanumeric sender id (1–11 letters, digits and spaces, at least one letter) to an account')
    .requiredOption('--account <id>', 'account id')
    .requiredOption('--sender <name>', 'the sender id, e.g. Acme; matched case-sensitively')
    .option('--json', 'print the result as JSON')
    .action(async (options: { account: string; sender: string; json?: boolean }) => {
      const input = { accountId: options.account, sender: options.sender };
      const result = await context.withDatabase((db) => addSenderCommand(db, input, context.now()));
      report(context.io, options.json, result, `sender id ${JSON.stringify(result.sender)} is registered to account ${result.accountId}`);
    });
}
