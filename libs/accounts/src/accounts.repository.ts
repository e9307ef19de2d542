import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { Db } from '@reach/database';
import { z } from 'zod';
import { AccountsError } from './accounts.errors';
import { apiKeyDisplayPrefix, deriveApiKey, generateApiUser, hashApiKey, isApiKeyFormat, isApiUserFormat } from './api-key';
import { readTimestamp, timestampValue } from './timestamps';

export type AccountStatus = 'active' | 'suspended';

/** What the message pipeline needs to price a message (same shape as `AcceptMessage.data.billing`). */
export interface BillingTerms {
  readonly monthlyAllowanceSegments: number;
  readonly overagePricePerSegmentUsd: number;
}

export interface Account {
  readonly id: string;
  readonly name: string;
  readonly apiUser: string;
  /** Suspended accounts still authenticate; the caller decides what they may do. */
  readonly status: AccountStatus;
  readonly billing: BillingTerms;
  readonly createdAt: Date;
}

export interface NewAccount {
  readonly name: string;
  readonly monthlyAllowanceSegments: number;
  readonly overagePricePerSegmentUsd: number;
  readonly now?: Date;
}

/**
 * How new API keys are made: derived from the platform secret (`REACH_API_KEY_SECRET`, read with
 * `parseApiKeySecret`) and the new key's id. The callbacks service needs the same secret to
 * re-create the keys it signs with (`signingApiKey`).
 */
export interface ApiKeyIssuing {
  readonly apiKeySecret: Buffer;
}

export interface CreatedAccount {
  readonly accountId: string;
  /** The only time the plaintext key exists outside the caller's hands: it is stored as a hash. */
  readonly apiKey: string;
  readonly apiUser: string;
}

export interface IssuedApiKey {
  readonly keyId: string;
  readonly apiKey: string;
  readonly keyPrefix: string;
}

export interface ApiKeySummary {
  readonly id: string;
  readonly keyPrefix: string;
  readonly createdAt: Date;
  readonly revokedAt: Date | null;
}

const NewAccountInput = z.object({
  name: z.string().trim().min(1, 'name must not be blank').max(200),
  // integer column; numeric(12, 6) holds prices below one million
  monthlyAllowanceSegments: z.number().int().min(0).max(2_147_483_647),
  overagePricePerSegmentUsd: z.number().min(0).lt(1_000_000),
});

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Lets a malformed id read as "not found" instead of a PostgreSQL cast error. */
export function isUuid(value: string): boolean {
  return UUID_PATTERN.test(value);
}

/** Runs `work` in the caller's transaction when given one, else in a new one. */
export function inTransaction<T>(db: Db, work: (trx: Db) => Promise<T>): Promise<T> {
  return db.isTransaction ? work(db) : db.transaction().execute(work);
}

const accountColumns = [
  'accounts.id',
  'accounts.name',
  'accounts.api_user',
  'accounts.status',
  'accounts.monthly_allowance_segments',
  'accounts.overage_price_per_segment_usd',
  'accounts.created_at',
] as const;

interface AccountColumns {
  id: string;
  name: string;
  api_user: string;
  status: AccountStatus;
  monthly_allowance_segments: number;
  overage_price_per_segment_usd: string;
  created_at: unknown;
}

function toAccount(row: AccountColumns): Account {
  return Object.freeze({
    id: row.id,
    name: row.name,
    apiUser: row.api_user,
    status: row.status,
    billing: Object.freeze({
      monthlyAllowanceSegments: row.monthly_allowance_segments,
      overagePricePerSegmentUsd: Number(row.overage_price_per_segment_usd),
    }),
    createdAt: readTimestamp(row.created_at),
  });
}

/** Creates the account and its first API key in one transaction; the key is returned once. */
export async function createAccount(db: Db, input: NewAccount, issuing: ApiKeyIssuing): Promise<CreatedAccount> {
  const parsed = NewAccountInput.safeParse(input);
  if (!parsed.success) {
    throw new AccountsError('INVALID_ACCOUNT', parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '));
  }
  const { name, monthlyAllowanceSegments, overagePricePerSegmentUsd } = parsed.data;
  const now = input.now ?? new Date();
  const accountId = randomUUID();
  const apiUser = generateApiUser();
  return inTransaction(db, async (trx) => {
    await trx
      .insertInto('accounts')
      .values({
        id: accountId,
        name,
        api_user: apiUser,
        monthly_allowance_segments: monthlyAllowanceSegments,
        overage_price_per_segment_usd: overagePricePerSegmentUsd,
        created_at: timestampValue(now),
      })
      .execute();
    const { apiKey } = await insertApiKey(trx, accountId, now, issuing.apiKeySecret);
    return { accountId, apiKey, apiUser };
  });
}

export async function findAccount(db: Db, accountId: string): Promise<Account | null> {
  if (!isUuid(accountId)) return null;
  const row = await db.selectFrom('accounts').select(accountColumns).where('accounts.id', '=', accountId).executeTakeFirst();
  return row ? toAccount(row) : null;
}

/** ReachCell dialect: `Authorization: Bearer ak_…`. Revoked keys and unknown keys give null. */
export async function authenticateBearer(db: Db, presentedKey: string): Promise<Account | null> {
  if (!isApiKeyFormat(presentedKey)) return null;
  const presentedHash = hashApiKey(presentedKey);
  const row = await db
    .selectFrom('api_keys')
    .innerJoin('accounts', 'accounts.id', 'api_keys.account_id')
    .select([...accountColumns, 'api_keys.key_hash'])
    .where('api_keys.key_hash', '=', presentedHash)
    .where('api_keys.revoked_at', 'is', null)
    .executeTakeFirst();
  // The index lookup already matched; the constant-time comparison guards against any collation
  // or driver surprise turning an equality lookup into something looser.
  if (!row || !hashesEqual(row.key_hash, presentedHash)) return null;
  return toAccount(row);
}

/**
 * Reach dialect: `ApiUser` + `ApiKey` headers. Compares the presented key against every live key
 * of the account in constant time and without stopping at the first match, so response time
 * says nothing about which key (or how much of one) matched.
 */
export async function authenticateApiUser(db: Db, apiUser: string, presentedKey: string): Promise<Account | null> {
  if (!isApiUserFormat(apiUser)) return null;
  const presentedHash = hashApiKey(presentedKey);
  const rows = await db
    .selectFrom('accounts')
    .innerJoin('api_keys', 'api_keys.account_id', 'accounts.id')
    .select([...accountColumns, 'api_keys.key_hash'])
    .where('accounts.api_user', '=', apiUser)
    .where('api_keys.revoked_at', 'is', null)
    .execute();
  let matched = false;
  for (const row of rows) {
    const equal = hashesEqual(row.key_hash, presentedHash);
    matched = matched || equal;
  }
  const first = rows[0];
  return matched && first ? toAccount(first) : null;
}

/** Issues an additional key (for rotation); the plaintext is returned once. */
export async function issueApiKey(db: Db, input: { accountId: string; now?: Date }, issuing: ApiKeyIssuing): Promise<IssuedApiKey> {
  return inTransaction(db, async (trx) => {
    await requireAccount(trx, input.accountId);
    return insertApiKey(trx, input.accountId, input.now ?? new Date(), issuing.apiKeySecret);
  });
}

/**
 * The key to sign the account's Reach status callbacks with (`X-Reach-Signature`): its newest
 * key that is not revoked, re-derived from the platform secret. Null when the account has no
 * such key (or does not exist).
 *
 * The derived key is used only when its hash is the stored `key_hash`: a key signed with
 * anything else would be one the account never saw, so every callback would fail validation
 * while looking fine from here. A different hash means the platform secret is not the one the key
 * was created with (or the key predates derived keys): `API_KEY_SECRET_MISMATCH`.
 */
export async function signingApiKey(db: Db, secret: Buffer, accountId: string): Promise<string | null> {
  if (!isUuid(accountId)) return null;
  const row = await db
    .selectFrom('api_keys')
    .select(['id', 'key_hash'])
    .where('account_id', '=', accountId)
    .where('revoked_at', 'is', null)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!row) return null;
  const derived = deriveApiKey(secret, row.id);
  if (!hashesEqual(row.key_hash, hashApiKey(derived))) {
    throw new AccountsError(
      'API_KEY_SECRET_MISMATCH',
      `cannot re-create API key ${row.id} of account ${accountId}: the platform secret (REACH_API_KEY_SECRET) differs from the one ` +
        'the key was created with. Use the secret reachctl created the key with, or issue the account a new key under this one.',
    );
  }
  return derived;
}

export async function listApiKeys(db: Db, accountId: string): Promise<ApiKeySummary[]> {
  if (!isUuid(accountId)) return [];
  const rows = await db
    .selectFrom('api_keys')
    .select(['id', 'key_prefix', 'created_at', 'revoked_at'])
    .where('account_id', '=', accountId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map((row) => ({ id: row.id, keyPrefix: row.key_prefix, createdAt: readTimestamp(row.created_at), revokedAt: row.revoked_at }));
}

/** Idempotent: revoking a revoked key keeps its first revocation time. */
export async function revokeApiKey(db: Db, input: { accountId: string; keyId: string; now?: Date }): Promise<ApiKeySummary> {
  const notFound = () => new AccountsError('API_KEY_NOT_FOUND', `no API key ${input.keyId} on account ${input.accountId}`);
  if (!isUuid(input.accountId) || !isUuid(input.keyId)) throw notFound();
  const now = input.now ?? new Date();
  const row = await db
    .updateTable('api_keys')
    .set((eb) => ({ revoked_at: eb.fn.coalesce('revoked_at', eb.val(now)) }))
    .where('id', '=', input.keyId)
    .where('account_id', '=', input.accountId)
    .returning(['id', 'key_prefix', 'created_at', 'revoked_at'])
    .executeTakeFirst();
  if (!row) throw notFound();
  return { id: row.id, keyPrefix: row.key_prefix, createdAt: readTimestamp(row.created_at), revokedAt: row.revoked_at };
}

export async function requireAccount(db: Db, accountId: string): Promise<Account> {
  const account = await findAccount(db, accountId);
  if (!account) throw new AccountsError('ACCOUNT_NOT_FOUND', `no account ${accountId}`);
  return account;
}

async function insertApiKey(trx: Db, accountId: string, now: Date, secret: Buffer): Promise<IssuedApiKey> {
  // The id is drawn first: the key is a function of it, and only its hash is stored.
  const keyId = randomUUID();
  const apiKey = deriveApiKey(secret, keyId);
  const keyPrefix = apiKeyDisplayPrefix(apiKey);
  await trx
    .insertInto('api_keys')
    .values({ id: keyId, account_id: accountId, key_hash: hashApiKey(apiKey), key_prefix: keyPrefix, created_at: timestampValue(now) })
    .execute();
  return { keyId, apiKey, keyPrefix };
}

function hashesEqual(stored: Buffer, presented: Buffer): boolean {
  return stored.length === presented.length && timingSafeEqual(stored, presented);
}
