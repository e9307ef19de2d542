import type { MessageStatus } from '@reach/contracts';
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
  /** The device whose SIM holds the number (`bindDeviceNumber`); null when none. */
  readonly deviceId: string | null;
  /** The SIM slot on that device; null when the number is not bound to a device. */
  readonly simSlot: number | null;
  /** The SMPP connector the number is routed to (`routeNumberToConnector`); null when none. */
  readonly connectorId: string | null;
}

const NUMBER_COLUMNS = ['e164', 'account_id', 'channel', 'device_id', 'sim_slot', 'connector_id'] as const;

interface NumberColumns {
  e164: string;
  account_id: string;
  channel: Channel;
  device_id: string | null;
  sim_slot: number | null;
  connector_id: string | null;
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

/** What `provisionNumber` did: `assigned` is true only when this call gave the number to the account. */
export interface NumberProvisioning {
  readonly number: ProvisionedNumber;
  readonly assigned: boolean;
}

export interface NumberRelease {
  readonly accountId: string;
  readonly e164: string;
}

/**
 * Provisions `e164` to the account. Re-adding a number to the account that holds it returns the
 * existing row unchanged; a number held by another account is `NUMBER_TAKEN`.
 */
export async function addNumber(db: Db, input: NewNumber): Promise<ProvisionedNumber> {
  return (await provisionNumber(db, input)).number;
}

/**
 * `addNumber`, telling whether this call assigned the number (`assigned: true`) or found the
 * account already holding it. A caller that announces assignments (`number.assigned` webhooks)
 * does so only for the first, in the same transaction, so a repeated add announces nothing.
 */
export async function provisionNumber(db: Db, input: NewNumber): Promise<NumberProvisioning> {
  const channel = input.channel ?? 'simulated';
  if (!isValidE164(input.e164)) throw invalidNumber(input.e164);
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
      .returning(NUMBER_COLUMNS)
      .executeTakeFirst();
    const row = inserted ?? (await selectNumber(trx, input.e164));
    if (!row) throw new Error(`number ${input.e164} vanished while being provisioned`);
    if (row.account_id !== input.accountId) {
      throw new AccountsError('NUMBER_TAKEN', `${input.e164} is provisioned to another account`);
    }
    return { number: toNumber(row), assigned: inserted !== undefined };
  });
}

/**
 * Messages from a number that still need it: not yet handed to the carrier. Sending them from a
 * released number would send from a number the account no longer holds (or that another account
 * holds next), and one queued for an offline phone could never go out: the phone of a number
 * that is not provisioned cannot be brought back online.
 */
const UNSENT_STATUSES = ['accepted', 'scheduled', 'queued', 'dispatched'] as const satisfies readonly MessageStatus[];

/**
 * Takes `e164` back from the account (the row is deleted, so the number can be provisioned
 * again). Refused with `NUMBER_NOT_PROVISIONED` when the account does not hold it, and with
 * `NUMBER_IN_USE` while outbound messages from it are unsent (in the messages read model or in
 * the dispatcher's queue): cancel them or let them finish first.
 *
 * The number's row is locked for the check and the delete, so a concurrent add or release of it
 * waits. Best effort at the edges: a send accepted but not yet projected or queued (milliseconds),
 * or accepted by a gateway that still has the number cached (up to its 30 s positive TTL), is not
 * seen.
 */
export async function releaseNumber(db: Db, input: NumberRelease): Promise<ProvisionedNumber> {
  if (!isValidE164(input.e164)) throw invalidNumber(input.e164);
  return inTransaction(db, async (trx) => {
    await requireAccount(trx, input.accountId);
    const row = await trx
      .selectFrom('numbers')
      .select(NUMBER_COLUMNS)
      .where('e164', '=', input.e164)
      .forUpdate()
      .executeTakeFirst();
    if (!row || row.account_id !== input.accountId) {
      throw new AccountsError('NUMBER_NOT_PROVISIONED', `${input.e164} is not provisioned to account ${input.accountId}`);
    }
    const unsent = await countUnsentFrom(trx, input.accountId, input.e164);
    if (unsent > 0) {
      throw new AccountsError(
        'NUMBER_IN_USE',
        `${input.e164} still has ${unsent} outbound message(s) not sent yet (accepted, scheduled, queued or dispatched): ` +
          'cancel them or wait until they are sent, then release the number',
      );
    }
    await trx.deleteFrom('numbers').where('e164', '=', input.e164).where('account_id', '=', input.accountId).execute();
    return toNumber(row);
  });
}

async function countUnsentFrom(db: Db, accountId: string, e164: string): Promise<number> {
  // The read model knows every projected message; the dispatcher's queue also holds queued ones
  // the projector has not folded yet (and sent ones awaiting a receipt, which no longer need the number).
  const { count } = await db
    .selectFrom('messages')
    .select((eb) => eb.fn.countAll<string>().as('count'))
    .where('account_id', '=', accountId)
    .where('direction', '=', 'outbound')
    .where('from_number', '=', e164)
    .where('status', 'in', [...UNSENT_STATUSES])
    .executeTakeFirstOrThrow();
  const { count: unprojected } = await db
    .selectFrom('dispatch_queue')
    .leftJoin('messages', 'messages.message_id', 'dispatch_queue.message_id')
    .select((eb) => eb.fn.countAll<string>().as('count'))
    .where('dispatch_queue.account_id', '=', accountId)
    .where('dispatch_queue.from_number', '=', e164)
    .where('messages.message_id', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(count) + Number(unprojected);
}

function invalidNumber(e164: string): AccountsError {
  return new AccountsError('INVALID_NUMBER', `${JSON.stringify(e164)} is not a valid E.164 number (for example +14155552671)`);
}

export async function findNumber(db: Db, e164: string): Promise<ProvisionedNumber | null> {
  const row = await selectNumber(db, e164);
  return row ? toNumber(row) : null;
}

export async function listNumbers(db: Db, accountId: string): Promise<ProvisionedNumber[]> {
  if (!isUuid(accountId)) return [];
  const rows = await db
    .selectFrom('numbers')
    .select(NUMBER_COLUMNS)
    .where('account_id', '=', accountId)
    .orderBy('e164')
    .execute();
  return rows.map(toNumber);
}

function selectNumber(db: Db, e164: string) {
  return db.selectFrom('numbers').select(NUMBER_COLUMNS).where('e164', '=', e164).executeTakeFirst();
}

export function toNumber(row: NumberColumns): ProvisionedNumber {
  return Object.freeze({
    e164: row.e164,
    accountId: row.account_id,
    channel: row.channel,
    deviceId: row.device_id,
    simSlot: row.sim_slot,
    connectorId: row.connector_id,
  });
}
