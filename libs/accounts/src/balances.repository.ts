import type { Db } from '@reach/database';
import { AccountsError } from './accounts.errors';
import { inTransaction, isUuid, requireAccount } from './accounts.repository';

/**
 * Prepaid balances. An account with a row in `account_balances` is prepaid: every message reserves
 * (debits) its price before it is sent. An account without one is postpaid: nothing is checked.
 *
 * Amounts are decimals with six places (`numeric(14, 6)`): inputs are rounded to six places before
 * they reach the database, and balances are read back as numbers (at most 14 significant digits,
 * which a double holds exactly).
 */
export interface AccountBalance {
  readonly accountId: string;
  readonly balance: number;
  /** ISO 4217 code in lower case, e.g. `usd`. */
  readonly currency: string;
}

export interface SetBalance {
  readonly accountId: string;
  readonly amount: number;
  readonly currency: string;
  readonly now?: Date;
}

export interface ReserveFunds {
  readonly accountId: string;
  readonly messageId: string;
  /** The message's price, in `currency`. */
  readonly amount: number;
  readonly currency: string;
  readonly now?: Date;
}

/** `ok: false` means the balance does not cover the amount; `balance` is what it holds now. */
export type ReserveFundsResult = { readonly ok: true } | { readonly ok: false; readonly balance: number };

/** The largest value `numeric(14, 6)` holds. */
export const MAX_BALANCE_AMOUNT = 99_999_999.999999;

const CURRENCY_PATTERN = /^[A-Za-z]{3}$/;

/** Postpaid accounts (no balance row) give null. */
export async function getBalance(db: Db, accountId: string): Promise<AccountBalance | null> {
  if (!isUuid(accountId)) return null;
  const row = await db
    .selectFrom('account_balances')
    .select(['account_id', 'balance', 'currency'])
    .where('account_id', '=', accountId)
    .executeTakeFirst();
  return row ? toBalance(row) : null;
}

/**
 * Makes the account prepaid with exactly `amount` (an operator's top-up or correction: it
 * overwrites, so a debit committed in between is forgotten). The currency of an existing balance
 * cannot change (`CURRENCY_MISMATCH`): reservations made in it would be refunded in another.
 */
export async function setBalance(db: Db, input: SetBalance): Promise<AccountBalance> {
  const amount = decimalAmount(input.amount);
  const currency = normalizeCurrency(input.currency);
  const now = input.now ?? new Date();
  return inTransaction(db, async (trx) => {
    await requireAccount(trx, input.accountId);
    const row = await trx
      .insertInto('account_balances')
      .values({ account_id: input.accountId, currency, balance: amount, updated_at: now })
      .onConflict((oc) =>
        oc
          .column('account_id')
          .doUpdateSet((eb) => ({ balance: eb.ref('excluded.balance'), updated_at: eb.ref('excluded.updated_at') }))
          .where('account_balances.currency', '=', currency),
      )
      .returning(['account_id', 'balance', 'currency'])
      .executeTakeFirst();
    if (row) return toBalance(row);
    const existing = await getBalance(trx, input.accountId);
    throw currencyMismatch(input.accountId, existing?.currency ?? 'unknown', currency);
  });
}

/**
 * Debits the price of one message, at most once per message id, and never below zero.
 *
 * The reservation row is inserted first: its primary key makes a concurrent reservation for the
 * same message wait for this one and then find it, so the debit happens exactly once. The debit is
 * a single conditional UPDATE (`balance >= amount`), which PostgreSQL re-checks against the latest
 * row version when concurrent debits queue on the row, so concurrent sends cannot overdraw.
 *
 * A repeated reservation for a message id is a success that debits nothing (also after a refund).
 * Postpaid accounts always succeed and record nothing. When the balance does not cover the amount,
 * or its currency differs (`CURRENCY_MISMATCH`), the reservation row is removed again before
 * returning, so the outcome holds even if the caller's transaction goes on to commit.
 */
export async function reserveFunds(db: Db, input: ReserveFunds): Promise<ReserveFundsResult> {
  const amount = decimalAmount(input.amount);
  const currency = normalizeCurrency(input.currency);
  if (!isUuid(input.messageId)) throw new TypeError(`messageId must be a UUID; got ${JSON.stringify(input.messageId)}`);
  if (!isUuid(input.accountId)) throw accountNotFound(input.accountId);
  const now = input.now ?? new Date();
  return inTransaction(db, async (trx) => {
    const inserted = await insertReservation(trx, { ...input, amount, now });
    if (!inserted) {
      const existing = await trx
        .selectFrom('balance_reservations')
        .select('account_id')
        .where('message_id', '=', input.messageId)
        .executeTakeFirstOrThrow();
      if (existing.account_id !== input.accountId) {
        throw new AccountsError('RESERVATION_CONFLICT', `message ${input.messageId} already holds a reservation on another account`);
      }
      return { ok: true };
    }
    const debited = await trx
      .updateTable('account_balances')
      .set((eb) => ({ balance: eb('balance', '-', amount), updated_at: now }))
      .where('account_id', '=', input.accountId)
      .where('currency', '=', currency)
      .where('balance', '>=', amount)
      .returning('balance')
      .executeTakeFirst();
    if (debited) return { ok: true };

    await trx.deleteFrom('balance_reservations').where('message_id', '=', input.messageId).execute();
    const current = await getBalance(trx, input.accountId);
    if (current === null) return { ok: true };
    if (current.currency !== currency) throw currencyMismatch(input.accountId, current.currency, currency);
    return { ok: false, balance: current.balance };
  });
}

/**
 * Credits back the reservation of a message that failed before it was sent. Idempotent: true when
 * this call credited the balance, false when there is nothing (left) to refund.
 */
export async function refundReservation(db: Db, messageId: string, now: Date = new Date()): Promise<boolean> {
  if (!isUuid(messageId)) return false;
  return inTransaction(db, async (trx) => {
    // Concurrent refunds queue on the reservation row; only the first finds refunded_at null.
    const reservation = await trx
      .updateTable('balance_reservations')
      .set({ refunded_at: now })
      .where('message_id', '=', messageId)
      .where('refunded_at', 'is', null)
      .returning(['account_id', 'amount'])
      .executeTakeFirst();
    if (!reservation) return false;
    await trx
      .updateTable('account_balances')
      .set((eb) => ({ balance: eb('balance', '+', reservation.amount), updated_at: now }))
      .where('account_id', '=', reservation.account_id)
      .execute();
    return true;
  });
}

/** True when inserted; false when the message id already has a reservation. */
async function insertReservation(trx: Db, input: { accountId: string; messageId: string; amount: string; now: Date }): Promise<boolean> {
  try {
    const row = await trx
      .insertInto('balance_reservations')
      .values({ message_id: input.messageId, account_id: input.accountId, amount: input.amount, created_at: input.now })
      .onConflict((oc) => oc.column('message_id').doNothing())
      .returning('message_id')
      .executeTakeFirst();
    return row !== undefined;
  } catch (error) {
    if ((error as { code?: unknown }).code === FOREIGN_KEY_VIOLATION) throw accountNotFound(input.accountId);
    throw error;
  }
}

const FOREIGN_KEY_VIOLATION = '23503';

/** Validates and rounds to the six places the columns keep, as a decimal string (no float drift in SQL). */
function decimalAmount(value: number): string {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > MAX_BALANCE_AMOUNT) {
    throw new AccountsError('INVALID_AMOUNT', `amount must be a number from 0 to ${MAX_BALANCE_AMOUNT}; got ${String(value)}`);
  }
  return value.toFixed(6);
}

function normalizeCurrency(value: string): string {
  if (typeof value !== 'string' || !CURRENCY_PATTERN.test(value)) {
    throw new AccountsError('INVALID_CURRENCY', `currency must be a three-letter ISO 4217 code such as usd; got ${JSON.stringify(value)}`);
  }
  return value.toLowerCase();
}

function accountNotFound(accountId: string): AccountsError {
  return new AccountsError('ACCOUNT_NOT_FOUND', `no account ${accountId}`);
}

function currencyMismatch(accountId: string, held: string, asked: string): AccountsError {
  return new AccountsError('CURRENCY_MISMATCH', `account ${accountId} holds its balance in ${held}, not ${asked}`);
}

function toBalance(row: { account_id: string; balance: string; currency: string }): AccountBalance {
  return Object.freeze({ accountId: row.account_id, balance: Number(row.balance), currency: row.currency });
}
