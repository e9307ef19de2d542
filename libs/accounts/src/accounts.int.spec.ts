import { randomBytes, randomUUID } from 'node:crypto';
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
  signingApiKey,
} from './accounts.repository';
import { deriveApiKey, hashApiKey, parseApiKeySecret } from './api-key';
import { addNumber, findNumber, listNumbers, provisionNumber, releaseNumber } from './numbers.repository';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

const terms = { monthlyAllowanceSegments: 1000, overagePricePerSegmentUsd: 0.0075 };
const apiKeySecret = randomBytes(32);
const issuing = { apiKeySecret };

async function expectAccountsError(promise: Promise<unknown>, code: AccountsError['code']): Promise<void> {
  await expect(promise).rejects.toBeInstanceOf(AccountsError);
  await expect(promise).rejects.toMatchObject({ code });
}

describe('accounts', () => {
  it('creates an account whose key authenticates as bearer and with its ApiUser', async () => {
    const now = new Date('2026-11-22T10:00:00.000Z');
    const created = await createAccount(database.db, { name: 'Acme', ...terms, now }, issuing);

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
    const mine = await createAccount(database.db, { name: 'Mine', ...terms }, issuing);
    const theirs = await createAccount(database.db, { name: 'Theirs', ...terms }, issuing);
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
    const created = await createAccount(database.db, { name: 'Hashed', ...terms }, issuing);
    const stored = await database.db.selectFrom('api_keys').selectAll().where('account_id', '=', created.accountId).execute();

    expect(stored).toHaveLength(1);
    expect(Buffer.compare(stored[0]!.key_hash, hashApiKey(created.apiKey))).toBe(0);
    expect(stored[0]!.key_prefix).toBe(created.apiKey.slice(0, 10));

    // No column of any row in the account tables holds the plaintext key (or its body), nor the
    // platform secret it was derived from.
    const body = created.apiKey.slice(3);
    for (const table of ['accounts', 'api_keys', 'numbers']) {
      const rows = await sql<{ row: string }>`select t::text as row from ${sql.table(table)} t`.execute(database.db);
      for (const { row } of rows.rows) {
        expect(row).not.toContain(body);
        expect(row).not.toContain(Buffer.from(created.apiKey).toString('hex'));
        expect(row).not.toContain(apiKeySecret.toString('hex'));
      }
    }
  });

  it('derives each key from the platform secret and the key id', async () => {
    const created = await createAccount(database.db, { name: 'Derived', ...terms }, issuing);
    const second = await issueApiKey(database.db, { accountId: created.accountId }, issuing);
    const [first] = await listApiKeys(database.db, created.accountId);

    expect(created.apiKey).toBe(deriveApiKey(apiKeySecret, first!.id));
    expect(second.apiKey).toBe(deriveApiKey(apiKeySecret, second.keyId));
    expect(second.keyPrefix).toBe(second.apiKey.slice(0, 10));
  });

  it('refuses a secret shorter than 32 bytes and writes nothing', async () => {
    const before = await database.db.selectFrom('accounts').select('id').execute();
    await expect(createAccount(database.db, { name: 'Weak', ...terms }, { apiKeySecret: Buffer.alloc(16, 1) })).rejects.toThrow(/at least 32 bytes/);
    expect(await database.db.selectFrom('accounts').select('id').execute()).toEqual(before);
  });

  it('refuses revoked keys and keeps the others working', async () => {
    const created = await createAccount(database.db, { name: 'Rotating', ...terms }, issuing);
    const second = await issueApiKey(database.db, { accountId: created.accountId }, issuing);
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
    const created = await createAccount(database.db, { name: 'Suspended', ...terms }, issuing);
    await database.db.updateTable('accounts').set({ status: 'suspended' }).where('id', '=', created.accountId).execute();

    expect((await authenticateBearer(database.db, created.apiKey))?.status).toBe('suspended');
    expect((await authenticateApiUser(database.db, created.apiUser, created.apiKey))?.status).toBe('suspended');
  });

  it('rejects invalid account terms and reports unknown accounts', async () => {
    await expectAccountsError(createAccount(database.db, { name: '  ', ...terms }, issuing), 'INVALID_ACCOUNT');
    await expectAccountsError(
      createAccount(database.db, { name: 'x', monthlyAllowanceSegments: -1, overagePricePerSegmentUsd: 0 }, issuing),
      'INVALID_ACCOUNT',
    );
    await expectAccountsError(
      createAccount(database.db, { name: 'x', monthlyAllowanceSegments: 1, overagePricePerSegmentUsd: Number.NaN }, issuing),
      'INVALID_ACCOUNT',
    );
    expect(await findAccount(database.db, '00000000-0000-4000-8000-000000000000')).toBeNull();
    expect(await findAccount(database.db, 'not-a-uuid')).toBeNull();
    await expectAccountsError(issueApiKey(database.db, { accountId: 'not-a-uuid' }, issuing), 'ACCOUNT_NOT_FOUND');
  });

  it('joins the caller’s transaction: a rollback leaves no account behind', async () => {
    let accountId = '';
    await expect(
      database.db.transaction().execute(async (trx) => {
        accountId = (await createAccount(trx, { name: 'Rolled back', ...terms }, issuing)).accountId;
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(await findAccount(database.db, accountId)).toBeNull();
  });
});

describe('signingApiKey', () => {
  it('re-creates the key createAccount printed', async () => {
    const created = await createAccount(database.db, { name: 'Signing', ...terms }, issuing);

    expect(await signingApiKey(database.db, apiKeySecret, created.accountId)).toBe(created.apiKey);
    // The secret as the callbacks service reads it from REACH_API_KEY_SECRET works the same.
    expect(await signingApiKey(database.db, parseApiKeySecret(apiKeySecret.toString('hex')), created.accountId)).toBe(created.apiKey);
  });

  it('uses the newest key that is not revoked, and null once none is left', async () => {
    const created = await createAccount(database.db, { name: 'Rotated', ...terms, now: new Date('2026-11-22T10:00:00.000Z') }, issuing);
    const rotated = await issueApiKey(database.db, { accountId: created.accountId, now: new Date('2026-11-22T11:00:00.000Z') }, issuing);
    expect(await signingApiKey(database.db, apiKeySecret, created.accountId)).toBe(rotated.apiKey);

    await revokeApiKey(database.db, { accountId: created.accountId, keyId: rotated.keyId });
    expect(await signingApiKey(database.db, apiKeySecret, created.accountId)).toBe(created.apiKey);

    const [first] = await listApiKeys(database.db, created.accountId);
    await revokeApiKey(database.db, { accountId: created.accountId, keyId: first!.id });
    expect(await signingApiKey(database.db, apiKeySecret, created.accountId)).toBeNull();
  });

  it('refuses to sign with a key the account never saw when the platform secret changed', async () => {
    const created = await createAccount(database.db, { name: 'Other secret', ...terms }, issuing);
    const mismatch = signingApiKey(database.db, randomBytes(32), created.accountId);

    await expectAccountsError(mismatch, 'API_KEY_SECRET_MISMATCH');
    await expect(mismatch).rejects.toThrow(/platform secret \(REACH_API_KEY_SECRET\) differs from the one the key was created with/);
    // A key issued under the new secret signs again.
    const newSecret = randomBytes(32);
    const reissued = await issueApiKey(database.db, { accountId: created.accountId, now: new Date(Date.now() + 1_000) }, { apiKeySecret: newSecret });
    expect(await signingApiKey(database.db, newSecret, created.accountId)).toBe(reissued.apiKey);
  });

  it('answers null for an unknown account or a malformed id', async () => {
    expect(await signingApiKey(database.db, apiKeySecret, '00000000-0000-4000-8000-000000000000')).toBeNull();
    expect(await signingApiKey(database.db, apiKeySecret, 'not-a-uuid')).toBeNull();
  });
});

describe('numbers', () => {
  it('provisions a number, idempotently for the same account', async () => {
    const { accountId } = await createAccount(database.db, { name: 'Numbers', ...terms }, issuing);

    const added = await addNumber(database.db, { accountId, e164: '+14155552671' });
    expect(added).toEqual({ e164: '+14155552671', accountId, channel: 'simulated', deviceId: null, simSlot: null, connectorId: null });
    expect(await addNumber(database.db, { accountId, e164: '+14155552671', channel: 'device' })).toEqual(added);
    expect(await addNumber(database.db, { accountId, e164: '+447911123456', channel: 'smpp' })).toEqual({
      e164: '+447911123456',
      accountId,
      channel: 'smpp',
      deviceId: null,
      simSlot: null,
      connectorId: null,
    });

    expect(await findNumber(database.db, '+14155552671')).toEqual(added);
    expect(await findNumber(database.db, '+14155550000')).toBeNull();
    expect((await listNumbers(database.db, accountId)).map((number) => number.e164)).toEqual(['+14155552671', '+447911123456']);
  });

  it('refuses a number that belongs to another account', async () => {
    const first = await createAccount(database.db, { name: 'First', ...terms }, issuing);
    const second = await createAccount(database.db, { name: 'Second', ...terms }, issuing);
    await addNumber(database.db, { accountId: first.accountId, e164: '+12025550123' });

    await expectAccountsError(addNumber(database.db, { accountId: second.accountId, e164: '+12025550123' }), 'NUMBER_TAKEN');
    expect((await findNumber(database.db, '+12025550123'))?.accountId).toBe(first.accountId);
  });

  it('settles concurrent adds of one number on a single owner', async () => {
    const accounts = await Promise.all([1, 2, 3].map((i) => createAccount(database.db, { name: `Racer ${i}`, ...terms }, issuing)));
    const results = await Promise.allSettled(
      accounts.map(({ accountId }) => addNumber(database.db, { accountId, e164: '+16502530000' })),
    );
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    expect(
      results.filter((result) => result.status === 'rejected' && (result.reason as AccountsError).code === 'NUMBER_TAKEN'),
    ).toHaveLength(2);
  });

  it('rejects numbers that are not strict, valid E.164', async () => {
    const { accountId } = await createAccount(database.db, { name: 'Invalid', ...terms }, issuing);
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

  it('tells whether a provisioning assigned the number or found it already held', async () => {
    const { accountId } = await createAccount(database.db, { name: 'Assigned', ...terms }, issuing);

    const first = await provisionNumber(database.db, { accountId, e164: '+14155552675' });
    expect(first).toEqual({ number: { e164: '+14155552675', accountId, channel: 'simulated', deviceId: null, simSlot: null, connectorId: null }, assigned: true });
    expect(await provisionNumber(database.db, { accountId, e164: '+14155552675', channel: 'smpp' })).toEqual({ ...first, assigned: false });
  });
});

describe('releasing numbers', () => {
  async function outboundMessage(accountId: string, from: string, status: string): Promise<string> {
    const messageId = randomUUID();
    const now = new Date();
    await database.db
      .insertInto('messages')
      .values({
        message_id: messageId,
        account_id: accountId,
        direction: 'outbound',
        from_number: from,
        to_number: '+14155553000',
        body: 'hi',
        segment_count: 1,
        encoding: 'GSM-7',
        status,
        channel: 'simulated',
        created_at: now,
        updated_at: now,
        stream_revision: 1,
      })
      .execute();
    return messageId;
  }

  it('deletes the number, which can then be provisioned again, to any account', async () => {
    const { accountId } = await createAccount(database.db, { name: 'Releasing', ...terms }, issuing);
    const other = await createAccount(database.db, { name: 'Next holder', ...terms }, issuing);
    await addNumber(database.db, { accountId, e164: '+14155552676', channel: 'device' });
    await outboundMessage(accountId, '+14155552676', 'delivered');
    await outboundMessage(accountId, '+14155552676', 'sent');

    expect(await releaseNumber(database.db, { accountId, e164: '+14155552676' })).toEqual({
      e164: '+14155552676',
      accountId,
      channel: 'device',
      deviceId: null,
      simSlot: null,
      connectorId: null,
    });
    expect(await findNumber(database.db, '+14155552676')).toBeNull();
    expect(await listNumbers(database.db, accountId)).toEqual([]);
    expect((await provisionNumber(database.db, { accountId: other.accountId, e164: '+14155552676' })).assigned).toBe(true);
  });

  it('refuses a number the account does not hold, and leaves it with its holder', async () => {
    const holder = await createAccount(database.db, { name: 'Holder', ...terms }, issuing);
    const stranger = await createAccount(database.db, { name: 'Stranger', ...terms }, issuing);
    await addNumber(database.db, { accountId: holder.accountId, e164: '+14155552677' });

    await expectAccountsError(releaseNumber(database.db, { accountId: stranger.accountId, e164: '+14155552677' }), 'NUMBER_NOT_PROVISIONED');
    await expectAccountsError(releaseNumber(database.db, { accountId: holder.accountId, e164: '+14155552678' }), 'NUMBER_NOT_PROVISIONED');
    await expectAccountsError(releaseNumber(database.db, { accountId: holder.accountId, e164: '4155552677' }), 'INVALID_NUMBER');
    await expectAccountsError(
      releaseNumber(database.db, { accountId: '00000000-0000-4000-8000-000000000000', e164: '+14155552677' }),
      'ACCOUNT_NOT_FOUND',
    );
    expect((await findNumber(database.db, '+14155552677'))?.accountId).toBe(holder.accountId);
  });

  it('refuses while messages from the number are not sent yet, in the read model or only in the dispatch queue', async () => {
    const { accountId } = await createAccount(database.db, { name: 'Busy', ...terms }, issuing);
    await addNumber(database.db, { accountId, e164: '+14155552679' });
    const release = () => releaseNumber(database.db, { accountId, e164: '+14155552679' });

    for (const status of ['accepted', 'scheduled', 'queued', 'dispatched']) {
      const messageId = await outboundMessage(accountId, '+14155552679', status);
      await expectAccountsError(release(), 'NUMBER_IN_USE');
      await database.db.deleteFrom('messages').where('message_id', '=', messageId).execute();
    }

    // Queued by the dispatcher before the projector folded it into the read model.
    const queuedAt = new Date();
    await database.db
      .insertInto('dispatch_queue')
      .values({
        message_id: randomUUID(),
        account_id: accountId,
        from_number: '+14155552679',
        to_number: '+14155553000',
        body: 'hi',
        segment_count: 1,
        queued_at: queuedAt,
        expires_at: new Date(queuedAt.getTime() + 60_000),
      })
      .execute();
    await expect(release()).rejects.toThrow(/still has 1 outbound message\(s\) not sent yet/);
    expect((await findNumber(database.db, '+14155552679'))?.accountId).toBe(accountId);

    await database.db.deleteFrom('dispatch_queue').where('from_number', '=', '+14155552679').execute();
    expect((await release()).e164).toBe('+14155552679');
  });
});

describe('AccountDirectory over the database', () => {
  it('authenticates through the cache and reads numbers', async () => {
    const created = await createAccount(database.db, { name: 'Cached', ...terms }, issuing);
    await addNumber(database.db, { accountId: created.accountId, e164: '+14155552674' });
    const directory = AccountDirectory.fromDatabase(database.db);

    expect((await directory.authenticateBearer(created.apiKey))?.id).toBe(created.accountId);
    expect((await directory.authenticateApiUser(created.apiUser, created.apiKey))?.id).toBe(created.accountId);
    expect(await directory.authenticateBearer(`ak_${'z'.repeat(40)}`)).toBeNull();
    expect((await directory.findNumber('+14155552674'))?.accountId).toBe(created.accountId);
  });
});
