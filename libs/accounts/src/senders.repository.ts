import type { Db } from '@reach/database';
import { sql } from 'kysely';
import { AccountsError } from './accounts.errors';
import { inTransaction, isUuid, requireAccount } from './accounts.repository';
import { senderIdProblem } from './sender-id';

/** An alphanumeric sender id registered to an account (the Reach dialect's `src`). */
export interface RegisteredSender {
  readonly accountId: string;
  readonly sender: string;
  /** The SMPP connector the sender id is routed to (`routeSenderToConnector`); null: the default channel. */
  readonly connectorId: string | null;
}

const SENDER_COLUMNS = ['account_id', 'sender', 'connector_id'] as const;

export interface NewSender {
  readonly accountId: string;
  readonly sender: string;
  readonly now?: Date;
}

/**
 * Registers `sender` to the account. Registering it again returns the existing registration; one
 * that differs from a registered id only in case is `SENDER_CASE_CONFLICT`. Other accounts may
 * register the same id: sender ids are per account, not global like numbers.
 */
export async function addSender(db: Db, input: NewSender): Promise<RegisteredSender> {
  const problem = senderIdProblem(input.sender);
  if (problem !== null) throw new AccountsError('INVALID_SENDER', `sender id ${JSON.stringify(input.sender)} ${problem}`);
  return inTransaction(db, async (trx) => {
    await requireAccount(trx, input.accountId);
    // No conflict target: the insert yields to either unique index (exact, or case-folded), and
    // concurrent adds settle on one row that every caller then reads.
    const inserted = await trx
      .insertInto('senders')
      .values({ account_id: input.accountId, sender: input.sender, created_at: input.now ?? new Date() })
      .onConflict((oc) => oc.doNothing())
      .returning(SENDER_COLUMNS)
      .executeTakeFirst();
    const row =
      inserted ??
      (await trx
        .selectFrom('senders')
        .select(SENDER_COLUMNS)
        .where('account_id', '=', input.accountId)
        .where(sql<string>`lower(sender)`, '=', input.sender.toLowerCase())
        .executeTakeFirst());
    if (!row) throw new Error(`sender ${input.sender} vanished while being registered`);
    if (row.sender !== input.sender) {
      throw new AccountsError(
        'SENDER_CASE_CONFLICT',
        `account ${input.accountId} already has sender id ${JSON.stringify(row.sender)}, which differs from ${JSON.stringify(input.sender)} only in case`,
      );
    }
    return toSender(row);
  });
}

/** Exact, case-sensitive match: "ACME" registered does not make "Acme" usable. */
export async function findSender(db: Db, accountId: string, sender: string): Promise<RegisteredSender | null> {
  if (!isUuid(accountId)) return null;
  const row = await db
    .selectFrom('senders')
    .select(SENDER_COLUMNS)
    .where('account_id', '=', accountId)
    .where('sender', '=', sender)
    .executeTakeFirst();
  return row ? toSender(row) : null;
}

export async function listSenders(db: Db, accountId: string): Promise<RegisteredSender[]> {
  if (!isUuid(accountId)) return [];
  const rows = await db.selectFrom('senders').select(SENDER_COLUMNS).where('account_id', '=', accountId).orderBy('sender').execute();
  return rows.map(toSender);
}

function toSender(row: { account_id: string; sender: string; connector_id: string | null }): RegisteredSender {
  return Object.freeze({ accountId: row.account_id, sender: row.sender, connectorId: row.connector_id });
}
