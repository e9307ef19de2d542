import type { Db } from '@reach/database';
import { isValidPhoneNumber } from 'libphonenumber-js/max';
import { AccountsError } from './accounts.errors';
import { inTransaction, isUuid, requireAccount } from './accounts.repository';
import { timestampValue } from './timestamps';

export const channels = ['simulated', 'device', 'smpp'] as const;
export type Channel = (typeof channels)[number];

export interface ProvisionedNumber {
  readonly e164: string;
  readonly accountId: string;
  readonly channel: Channel;
}

export interface NewNumber {
  readonly accountId: string;
  readonly e164: string;
  readonly channel?: Channel;
  readonly now?: Date;
}

const E164_PATTERN = /^\+[1-9]\d{6,14}$/;

/**
 * Strict: the canonical `+<digits>` form only (libphonenumber alone accepts spaces and
 * punctuation), and a number the full metadata considers assignable.
 */
export function isValidE164(value: string): boolean {
  return E164_PATTERN.test(value) && isValidPhoneNumber(value);
}

export function isChannel(value: string): value is Channel {
  return (channels as readonly string[]).includes(value);
}

/**
 * Provisions `e164` to the account. Re-adding a number to the account that holds it returns the
 * existing row unchanged; a number held by another account is `NUMBER_TAKEN`.
 */
export async function addNumber(db: Db, input: NewNumber): Promise<ProvisionedNumber> {
  const channel = input.channel ?? 'simulated';
  if (!isValidE164(input.e164)) {
    throw new AccountsError('INVALID_NUMBER', `${JSON.stringify(input.e164)} is not a valid E.164 number (for example +14155552671)`);
  }
  if (!isChannel(channel)) {
    throw new AccountsError('INVALID_CHANNEL', `channel must be one of ${channels.join(', ')}; got ${JSON.stringify(channel)}`);
  }
  return inTransaction(db, async (trx) => {
    await requireAccount(trx, input.accountId);
    // `on conflict do nothing` keeps concurrent adds of one number race-free: exactly one insert
    // wins and every caller then reads the winner's row.
    const inserted = await trx
      .insertInto('numbers')
      .values({ e164: input.e164, account_id: input.accountId, channel, created_at: timestampValue(input.now ?? new Date()) })
      .onConflict((oc) => oc.column('e164').doNothing())
      .returning(['e164', 'account_id', 'channel'])
      .executeTakeFirst();
    const row = inserted ?? (await selectNumber(trx, input.e164));
    if (!row) throw new Error(`number ${input.e164} vanished while being provisioned`);
    if (row.account_id !== input.accountId) {
      throw new AccountsError('NUMBER_TAKEN', `${input.e164} is provisioned to another account`);
    }
    return toNumber(row);
  });
}

export async function findNumber(db: Db, e164: string): Promise<ProvisionedNumber | null> {
  const row = await selectNumber(db, e164);
  return row ? toNumber(row) : null;
}

export async function listNumbers(db: Db, accountId: string): Promise<ProvisionedNumber[]> {
  if (!isUuid(accountId)) return [];
  const rows = await db
    .selectFrom('numbers')
    .select(['e164', 'account_id', 'channel'])
    .where('account_id', '=', accountId)
    .orderBy('e164')
    .execute();
  return rows.map(toNumber);
}

function selectNumber(db: Db, e164: string) {
  return db.selectFrom('numbers').select(['e164', 'account_id', 'channel']).where('e164', '=', e164).executeTakeFirst();
}

function toNumber(row: { e164: string; account_id: string; channel: Channel }): ProvisionedNumber {
  return Object.freeze({ e164: row.e164, accountId: row.account_id, channel: row.channel });
}
