import { createAccount, type ApiKeyIssuing } from '@reach/accounts';
import type { Db } from '@reach/database';
import type { Command } from 'commander';
import type { CliContext } from './cli-context';
import { parseUsd, parseWholeNumber } from './cli-options';
import { report } from './cli-output';

export const defaultAccountTerms = { allowanceSegments: 1000, overagePriceUsd: 0.0075 } as const;

export interface CreateAccountInput {
  readonly name: string;
  readonly allowanceSegments: number;
  readonly overagePriceUsd: number;
}

/** Exactly what `account create --json` prints; the API key appears here and nowhere else. */
export interface CreateAccountResult {
  readonly accountId: string;
  readonly apiKey: string;
  readonly apiUser: string;
}

/** The key is derived from the platform secret in `issuing` (see `deriveApiKey`). */
export async function createAccountCommand(db: Db, input: CreateAccountInput, now: Date, issuing: ApiKeyIssuing): Promise<CreateAccountResult> {
  const created = await createAccount(
    db,
    { name: input.name, monthlyAllowanceSegments: input.allowanceSegments, overagePricePerSegmentUsd: input.overagePriceUsd, now },
    issuing,
  );
  return { accountId: created.accountId, apiKey: created.apiKey, apiUser: created.apiUser };
}

export function registerAccountCommands(program: Command, context: CliContext): void {
  const account = program.command('account').description('manage accounts');
  account
    .command('create')
    .description('create an account and its first API key (the key is shown once)')
    .requiredOption('--name <name>', 'account name')
    .option('--allowance <segments>', 'segments included each month', parseWholeNumber, defaultAccountTerms.allowanceSegments)
    .option('--overage-price <usd>', 'price per segment beyond the allowance, in USD', parseUsd, defaultAccountTerms.overagePriceUsd)
    .option('--json', 'print the result as JSON')
    .action(async (options: { name: string; allowance: number; overagePrice: number; json?: boolean }) => {
      const input = { name: options.name, allowanceSegments: options.allowance, overagePriceUsd: options.overagePrice };
      // Before the database: without the platform secret nothing is created.
      const issuing = { apiKeySecret: context.apiKeySecret() };
      const result = await context.withDatabase((db) => createAccountCommand(db, input, context.now(), issuing));
      report(
        context.io,
        options.json,
        result,
        `created account ${result.accountId} (ApiUser ${result.apiUser}); API key, shown only now: ${result.apiKey}`,
      );
    });
}
