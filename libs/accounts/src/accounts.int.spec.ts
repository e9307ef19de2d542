import { createTestDatabase, type TestDatabase } from '@reach/testing';
import { sql } from 'kysely';
import { AccountDirectory } from './account-cache';
import { AccountsError } from './accounts.errors';
import {
  authenticateApiUser,
  authenticateBearer,
  createAccount,
  findAccount,
  issueApiKey,
  listApiKeys,
  revokeApiKey,
} from './accounts.repository';
import { hashApiKey } from './api-key';
import { addNumber, findNumber, listNumbers } from './numbers.repository';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

const terms = { monthlyAllowanceSegments: 1000, overagePricePerSegmentUsd: 0.0075 };

async function expectAccountsError(promise: Promise<unknown>, code: AccountsError['code']): Promise<void> {
  await expect(promise).rejects.toBeInstanceOf(AccountsError);
  await expect(promise).rejects.toMatchObject({ code });
}

describe('accounts', () => {
  it('creates an account whose key authenticates as bearer and with its ApiUser', async () => {
    const now = new Date('2026-11-22T10:00:00.000Z');
    const created = await createAccount(database.db, { name: 'Acme', ...terms, now });

    expect(created.accountId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(created.apiKey).toMatch(/^ak_[0-9A-Za-z]{40}$/);
    expect(created.apiUser).toMatch(/^AID[0-9A-F]{24}$/);

    const expected = {
      id: created.accountId,
      name: 'Acme',
      apiUser: created.apiUser,
      status: 'active',
      billing: terms,
      createdAt: now,
    };
    expect(await authenticateBearer(database.db, created.apiKey)).toEqual(expected);
    expect(await authenticateApiUser(database.db, created.apiUser, created.apiKey)).toEqual(expected);
    expect(await findAccount(database.db, created.accountId)).toEqual(expected);
  });

  it('answers null for a wrong key, a key of another account, or an unknown ApiUser', async () => {
    const mine = await createAccount(database.db, { name: 'Mine', ...terms });
    const theirs = await createAccount(database.db, { name: 'Theirs', ...terms });
    const wrongKey = `ak_${'x'.repeat(40)}`;

    expect(await authenticateBearer(database.db, wrongKey)).toBeNull();
    expect(await authenticateBearer(database.db, 'not a key')).toBeNull();
    expect(await authenticateBearer(database.db, '')).toBeNull();
    expect(await authenticateApiUser(database.db, mine.apiUser, wrongKey)).toBeNull();
    expect(await authenticateApiUser(database.db, mine.apiUser, theirs.apiKey)).toBeNull();
    expect(await authenticateApiUser(database.db, 'AIDFFFFFFFFFFFFFFFFFFFFFFFF', mine.apiKey)).toBeNull();
    expect(await authenticateApiUser(database.db, "AID' or 1=1 --", mine.apiKey)).toBeNull();
  });

  it('stores the key only as its SHA-256 digest', async () => {
    const created = await createAccount(database.db, { name: 'Hashed', ...terms });
    const stored = await database.db.selectFrom('api_keys').selectAll().where('account_id', '=', created.accountId).execute();

    expect(stored).toHaveLength(1);
    expect(Buffer.compare(stored[0]!.key_hash, hashApiKey(created.apiKey))).toBe(0);
    expect(stored[0]!.key_prefix).toBe(created.apiKey.slice(0, 10));

    // No column of any row in the account tables holds the plaintext key (or its body).
    const body = created.apiKey.slice(3);
    for (const table of ['accounts', 'api_keys', 'numbers']) {
      const rows = await sql<{ row: string }>`select t::text as row from ${sql.table(table)} t`.execute(database.db);
      for (const { row } of rows.rows) {
        expect(row).not.toContain(body);
        expect(row).not.toContain(Buffer.from(created.apiKey).toString('hex'));
      }
    }
  });

  it('refuses revoked keys and keeps the others working', async () => {
    const created = await createAccount(database.db, { name: 'Rotating', ...terms });
    const second = await issueApiKey(database.db, { accountId: created.accountId });
    const [first] = await listApiKeys(database.db, created.accountId);

    const revokedAt = new Date('2026-11-22T11:00:00.000Z');
    await revokeApiKey(database.db, { accountId: created.accountId, keyId: first!.id, now: revokedAt });
    const again = await revokeApiKey(database.db, { accountId: created.accountId, keyId: first!.id });
    expect(again.revokedAt).toEqual(revokedAt);

    expect(await authenticateBearer(database.db, created.apiKey)).toBeNull();
    expect(await authenticateApiUser(database.db, created.apiUser, created.apiKey)).toBeNull();
    expect((await authenticateBearer(database.db, second.apiKey))?.id).toBe(created.accountId);
    expect((await authenticateApiUser(database.db, created.apiUser, second.apiKey))?.id).toBe(created.accountId);
    expect((await listApiKeys(database.db, created.accountId)).map((key) => key.revokedAt === null)).toEqual([false, true]);

    await expectAccountsError(
      revokeApiKey(database.db, { accountId: created.accountId, keyId: '00000000-0000-4000-8000-000000000000' }),
      'API_KEY_NOT_FOUND',
    );
  });

  it('returns suspended accounts with their status', async () => {
    const created = await createAccount(database.db, { name: 'Suspended', ...terms });
    await database.db.updateTable('accounts').set({ status: 'suspended' }).where('id', '=', created.accountId).execute();

    expect((await authenticateBearer(database.db, created.apiKey))?.status).toBe('suspended');
    expect((await authenticateApiUser(database.db, created.apiUser, created.apiKey))?.status).toBe('suspended');
  });

  it('rejects invalid account terms and reports unknown accounts', async () => {
    await expectAccountsError(createAccount(database.db, { name: '  ', ...terms }), 'INVALID_ACCOUNT');
    await expectAccountsError(
      createAccount(database.db, { name: 'x', monthlyAllowanceSegments: -1, overagePricePerSegmentUsd: 0 }),
      'INVALID_ACCOUNT',
    );
    await expectAccountsError(
      createAccount(database.db, { name: 'x', monthlyAllowanceSegments: 1, overagePricePerSegmentUsd: Number.NaN }),
      'INVALID_ACCOUNT',
    );
    expect(await findAccount(database.db, '00000000-0000-4000-8000-000000000000')).toBeNull();
    expect(await findAccount(database.db, 'not-a-uuid')).toBeNull();
    await expectAccountsError(issueApiKey(database.db, { accountId: 'not-a-uuid' }), 'ACCOUNT_NOT_FOUND');
  });

  it('joins the caller’s transaction: a rollback leaves no account behind', async () => {
    let accountId = '';
    await expect(
      database.db.transaction().execute(async (trx) => {
        accountId = (await createAccount(trx, { name: 'Rolled back', ...terms })).accountId;
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(await findAccount(database.db, accountId)).toBeNull();
  });
});

describe('numbers', () => {
  it('provisions a number, idempotently for the same account', async () => {
    const { accountId } = await createAccount(database.db, { name: 'Numbers', ...terms });

    const added = await addNumber(database.db, { accountId, e164: '+14155552671' });
    expect(added).toEqual({ e164: '+14155552671', accountId, channel: 'simulated' });
    expect(await addNumber(database.db, { accountId, e164: '+14155552671', channel: 'device' })).toEqual(added);
    expect(await addNumber(database.db, { accountId, e164: '+447911123456', channel: 'smpp' })).toEqual({
      e164: '+447911123456',
      accountId,
      channel: 'smpp',
    });

    expect(await findNumber(database.db, '+14155552671')).toEqual(added);
    expect(await findNumber(database.db, '+14155550000')).toBeNull();
    expect((await listNumbers(database.db, accountId)).map((number) => number.e164)).toEqual(['+14155552671', '+447911123456']);
  });

  it('refuses a number that belongs to another account', async () => {
    const first = await createAccount(database.db, { name: 'First', ...terms });
    const second = await createAccount(database.db, { name: 'Second', ...terms });
    await addNumber(database.db, { accountId: first.accountId, e164: '+12025550123' });

    await expectAccountsError(addNumber(database.db, { accountId: second.accountId, e164: '+12025550123' }), 'NUMBER_TAKEN');
    expect((await findNumber(database.db, '+12025550123'))?.accountId).toBe(first.accountId);
  });

  it('settles concurrent adds of one number on a single owner', async () => {
    const accounts = await Promise.all([1, 2, 3].map((i) => createAccount(database.db, { name: `Racer ${i}`, ...terms })));
    const results = await Promise.allSettled(
      accounts.map(({ accountId }) => addNumber(database.db, { accountId, e164: '+16502530000' })),
    );
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    expect(
      results.filter((result) => result.status === 'rejected' && (result.reason as AccountsError).code === 'NUMBER_TAKEN'),
    ).toHaveLength(2);
  });

  it('rejects numbers that are not strict, valid E.164', async () => {
    const { accountId } = await createAccount(database.db, { name: 'Invalid', ...terms });
    for (const e164 of ['14155552671', '+1 415 555 2671', '+14155552671 ', '+10000000000', '+999123456789', '+1555', '', '+0123456789']) {
      await expectAccountsError(addNumber(database.db, { accountId, e164 }), 'INVALID_NUMBER');
    }
    await expectAccountsError(
      addNumber(database.db, { accountId, e164: '+14155552672', channel: 'carrier-pigeon' as never }),
      'INVALID_CHANNEL',
    );
    expect(await listNumbers(database.db, accountId)).toEqual([]);
  });

  it('refuses to provision a number to an unknown account', async () => {
    await expectAccountsError(
      addNumber(database.db, { accountId: '00000000-0000-4000-8000-000000000000', e164: '+14155552673' }),
      'ACCOUNT_NOT_FOUND',
    );
    await expectAccountsError(addNumber(database.db, { accountId: 'nope', e164: '+14155552673' }), 'ACCOUNT_NOT_FOUND');
    expect(await findNumber(database.db, '+14155552673')).toBeNull();
  });
});

describe('AccountDirectory over the database', () => {
  it('authenticates through the cache and reads numbers', async () => {
    const created = await createAccount(database.db, { name: 'Cached', ...terms });
    await addNumber(database.db, { accountId: created.accountId, e164: '+14155552674' });
    const directory = AccountDirectory.fromDatabase(database.db);

    expect((await directory.authenticateBearer(created.apiKey))?.id).toBe(created.accountId);
    expect((await directory.authenticateApiUser(created.apiUser, created.apiKey))?.id).toBe(created.accountId);
    expect(await directory.authenticateBearer(`ak_${'z'.repeat(40)}`)).toBeNull();
    expect((await directory.findNumber('+14155552674'))?.accountId).toBe(created.accountId);
  });
});
