import { addNumber, channels, type Channel } from '@reach/accounts';
import type { Db } from '@reach/database';
import { Option, type Command } from 'commander';
import type { CliContext } from './cli-context';
import { report } from './cli-output';

export interface AddNumberInput {
  readonly accountId: string;
  readonly number: string;
  readonly channel: Channel;
}

export interface AddNumberResult {
  readonly number: string;
  readonly accountId: string;
  readonly channel: Channel;
}

/** Idempotent for the account that already holds the number (the existing row is reported). */
export async function addNumberCommand(db: Db, input: AddNumberInput, now: Date): Promise<AddNumberResult> {
  const added = await addNumber(db, { accountId: input.accountId, e164: input.number, channel: input.channel, now });
  return { number: added.e164, accountId: added.accountId, channel: added.channel };
}

export function registerNumberCommands(program: Command, context: CliContext): void {
  const number = program.command('number').description('manage the phone numbers provisioned to accounts');
  number
    .command('add')
    .description('provision an E.164 number to an account')
    .requiredOption('--account <id>', 'account id')
    .requiredOption('--number <e164>', 'the number in E.164 form, e.g. +14155552671')
    .addOption(new Option('--channel <channel>', 'how messages from this number are sent').choices(channels).default('simulated'))
    .option('--json', 'print the result as JSON')
    .action(async (options: { account: string; number: string; channel: Channel; json?: boolean }) => {
      const input = { accountId: options.account, number: options.number, channel: options.channel };
      const result = await context.withDatabase((db) => addNumberCommand(db, input, context.now()));
      report(context.io, options.json, result, `${result.number} is provisioned to account ${result.accountId} (channel ${result.channel})`);
    });
}
