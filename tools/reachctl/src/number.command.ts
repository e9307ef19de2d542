import { randomUUID } from 'node:crypto';
import { channels, provisionNumber, releaseNumber, type Channel } from '@reach/accounts';
import type { Db } from '@reach/database';
import { Option, type Command } from 'commander';
import type { CliContext } from './cli-context';
import { report } from './cli-output';
import { planNumberEvent } from './number-events';

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

export interface ReleaseNumberInput {
  readonly accountId: string;
  readonly number: string;
}

export type ReleaseNumberResult = AddNumberResult;

/**
 * Idempotent for the account that already holds the number (the existing row is reported). A
 * number newly assigned is announced to the account's `number.assigned` webhooks in the same
 * transaction; a repeated add announces nothing.
 */
export async function addNumberCommand(db: Db, input: AddNumberInput, now: Date, newId: () => string = randomUUID): Promise<AddNumberResult> {
  return db.transaction().execute(async (trx) => {
    const { number, assigned } = await provisionNumber(trx, { accountId: input.accountId, e164: input.number, channel: input.channel, now });
    if (assigned) await planNumberEvent(trx, { eventType: 'number.assigned', eventId: newId(), number, occurredAt: now });
    return { number: number.e164, accountId: number.accountId, channel: number.channel };
  });
}

/**
 * Takes the number back from the account and announces it to the account's `number.released`
 * webhooks, in one transaction. Refused (`NUMBER_NOT_PROVISIONED`) when the account does not hold
 * the number, and (`NUMBER_IN_USE`) while messages from it are not sent yet.
 */
export async function releaseNumberCommand(
  db: Db,
  input: ReleaseNumberInput,
  now: Date,
  newId: () => string = randomUUID,
): Promise<ReleaseNumberResult> {
  return db.transaction().execute(async (trx) => {
    const number = await releaseNumber(trx, { accountId: input.accountId, e164: input.number });
    await planNumberEvent(trx, { eventType: 'number.released', eventId: newId(), number, occurredAt: now });
    return { number: number.e164, accountId: number.accountId, channel: number.channel };
  });
}

export function registerNumberCommands(program: Command, context: CliContext): void {
  const number = program.command('number').description('manage the phone numbers provisioned to accounts');
  number
    .command('add')
    .description('provision an E.164 number to an account (announced to its number.assigned webhooks)')
    .requiredOption('--account <id>', 'account id')
    .requiredOption('--number <e164>', 'the number in E.164 form, e.g. +14155552671')
    .addOption(new Option('--channel <channel>', 'how messages from this number are sent').choices(channels).default('simulated'))
    .option('--json', 'print the result as JSON')
    .action(async (options: { account: string; number: string; channel: Channel; json?: boolean }) => {
      const input = { accountId: options.account, number: options.number, channel: options.channel };
      const result = await context.withDatabase((db) => addNumberCommand(db, input, context.now(), () => context.newId()));
      report(context.io, options.json, result, `${result.number} is provisioned to account ${result.accountId} (channel ${result.channel})`);
    });
  number
    .command('release')
    .description('take a number back from the account that holds it (announced to its number.released webhooks)')
    .requiredOption('--account <id>', 'account id')
    .requiredOption('--number <e164>', 'the provisioned number, e.g. +14155552671')
    .option('--json', 'print the result as JSON')
    .action(async (options: { account: string; number: string; json?: boolean }) => {
      const input = { accountId: options.account, number: options.number };
      const result = await context.withDatabase((db) => releaseNumberCommand(db, input, context.now(), () => context.newId()));
      report(context.io, options.json, result, `${result.number} is released from account ${result.accountId}`);
    });
}
