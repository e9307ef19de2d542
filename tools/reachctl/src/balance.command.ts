import { getBalance, requireAccount, setBalance } from '@reach/accounts';
import type { Db } from '@reach/database';
import type { Command } from 'commander';
import type { CliContext } from './cli-context';
import { parseAmount } from './cli-options';
import { report } from './cli-output';

export const defaultCurrency = 'usd';

export interface SetBalanceInput {
  readonly accountId: string;
  readonly amount: number;
  readonly currency: string;
}

/** `balance` and `currency` are null for a postpaid account (one without a balance). */
export interface BalanceResult {
  readonly accountId: string;
  readonly balance: number | null;
  readonly currency: string | null;
}

/** Makes the account prepaid with exactly `amount` (overwrites the balance it had). */
export async function setBalanceCommand(db: Db, input: SetBalanceInput, now: Date): Promise<BalanceResult> {
  const set = await setBalance(db, { accountId: input.accountId, amount: input.amount, currency: input.currency, now });
  return { accountId: set.accountId, balance: set.balance, currency: set.currency };
}

export async function showBalanceCommand(db: Db, accountId: string): Promise<BalanceResult> {
  await requireAccount(db, accountId);
  const found = await getBalance(db, accountId);
  return { accountId, balance: found?.balance ?? null, currency: found?.currency ?? null };
}

function describeBalance(result: BalanceResult): string {
  return result.balance === null
    ? `account ${result.accountId} is postpaid (no prepaid balance)`
    : `account ${result.accountId} has a prepaid balance of ${result.balance} ${result.currency ?? ''}`.trimEnd();
}

export function registerBalanceCommands(program: Command, context: CliContext): void {
  const balance = program.command('balance').description('manage prepaid balances (accounts without one are postpaid)');
  balance
    .command('set')
    .description('make the account prepaid with exactly this balance (a top-up or a correction)')
    .requiredOption('--account <id>', 'account id')
    .requiredOption('--amount <amount>', 'the new balance, e.g. 25 or 0.0075', parseAmount)
    .option('--currency <code>', 'ISO 4217 currency code', defaultCurrency)
    .option('--json', 'print the result as JSON')
    .action(async (options: { account: string; amount: number; currency: string; json?: boolean }) => {
      const input = { accountId: options.account, amount: options.amount, currency: options.currency };
      const result = await context.withDatabase((db) => setBalanceCommand(db, input, context.now()));
      report(context.io, options.json, result, describeBalance(result));
    });
  balance
    .command('show')
    .description("print the account's prepaid balance (null when the account is postpaid)")
    .requiredOption('--account <id>', 'account id')
    .option('--json', 'print the result as JSON')
    .action(async (options: { account: string; json?: boolean }) => {
      const result = await context.withDatabase((db) => showBalanceCommand(db, options.account));
      report(context.io, options.json, result, describeBalance(result));
    });
}
