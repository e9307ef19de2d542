import { randomBytes } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@reach/testing';
import { AccountDirectory } from './account-cache';
import { AccountsError } from './accounts.errors';
import { createAccount } from './accounts.repository';
import { addSender, findSender, listSenders } from './senders.repository';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

const terms = { monthlyAllowanceSegments: 1000, overagePricePerSegmentUsd: 0.0075 };
const issuing = { apiKeySecret: randomBytes(32) };
const newAccount = async (name: string) => (await createAccount(database.db, { name, ...terms }, issuing)).accountId;

async function expectAccountsError(promise: Promise<unknown>, code: AccountsError['code']): Promise<void> {
  await expect(promise).rejects.toBeInstanceOf(AccountsError);
  await expect(promise).rejects.toMatchObject({ code });
}

describe('senders', () => {
  it('registers a sender id, idempotently for the same account', async () => {
    const accountId = await newAccount('Senders');

    const added = await addSender(database.db, { accountId, sender: 'Acme' });
    expect(added).toEqual({ accountId, sender: 'Acme', connectorId: null });
    expect(await addSender(database.db, { accountId, sender: 'Acme' })).toEqual(added);
    await addSender(database.db, { accountId, sender: 'Acme 2FA' });

    expect(await findSender(database.db, accountId, 'Acme')).toEqual(added);
    expect(await listSenders(database.db, accountId)).toEqual([added, { accountId, sender: 'Acme 2FA', connectorId: null }]);
    const rows = await database.db.selectFrom('senders').select('sender').where('account_id', '=', accountId).execute();
    expect(rows).toHaveLength(2);
  });

  it('refuses invalid sender ids and writes nothing', async () => {
    const accountId = await newAccount('Invalid');
    for (const sender of ['ABCDEFGHIJKL', '123456', 'Acme!', 'Acme-Co', 'A.B', '', '   ', 'Café']) {
      await expectAccountsError(addSender(database.db, { accountId, sender }), 'INVALID_SENDER');
    }
    await expect(addSender(database.db, { accountId, sender: 'ABCDEFGHIJKL' })).rejects.toThrow(/at most 11 characters/);
    expect(await listSenders(database.db, accountId)).toEqual([]);
  });

  it('refuses a second id that differs only in case, and matches case-sensitively', async () => {
    const accountId = await newAccount('Case');
    await addSender(database.db, { accountId, sender: 'Acme' });

    await expectAccountsError(addSender(database.db, { accountId, sender: 'ACME' }), 'SENDER_CASE_CONFLICT');
    await expectAccountsError(addSender(database.db, { accountId, sender: 'acme' }), 'SENDER_CASE_CONFLICT');
    expect(await findSender(database.db, accountId, 'ACME')).toBeNull();
    expect(await findSender(database.db, accountId, 'acme')).toBeNull();
    expect(await listSenders(database.db, accountId)).toEqual([{ accountId, sender: 'Acme', connectorId: null }]);
  });

  it('settles concurrent case variants on a single registration', async () => {
    const accountId = await newAccount('Racing');
    const results = await Promise.allSettled(['Racer', 'RACER', 'racer', 'Racer'].map((sender) => addSender(database.db, { accountId, sender })));
    const registered = await listSenders(database.db, accountId);
    expect(registered).toHaveLength(1);
    for (const result of results) {
      if (result.status === 'fulfilled') expect(result.value).toEqual(registered[0]);
      else expect(result.reason).toMatchObject({ code: 'SENDER_CASE_CONFLICT' });
    }
  });

  it('keeps sender ids per account: another account’s sender is not found, and may be registered again', async () => {
    const mine = await newAccount('Mine');
    const theirs = await newAccount('Theirs');
    await addSender(database.db, { accountId: theirs, sender: 'Shared' });

    expect(await findSender(database.db, mine, 'Shared')).toBeNull();
    expect(await addSender(database.db, { accountId: mine, sender: 'SHARED' })).toEqual({ accountId: mine, sender: 'SHARED', connectorId: null });
    expect(await findSender(database.db, mine, 'SHARED')).toEqual({ accountId: mine, sender: 'SHARED', connectorId: null });
    expect(await findSender(database.db, theirs, 'SHARED')).toBeNull();
  });

  it('refuses unknown accounts and answers null for malformed ids', async () => {
    await expectAccountsError(addSender(database.db, { accountId: '00000000-0000-4000-8000-000000000000', sender: 'Ghost' }), 'ACCOUNT_NOT_FOUND');
    await expectAccountsError(addSender(database.db, { accountId: 'not-a-uuid', sender: 'Ghost' }), 'ACCOUNT_NOT_FOUND');
    expect(await findSender(database.db, 'not-a-uuid', 'Ghost')).toBeNull();
    expect(await listSenders(database.db, 'not-a-uuid')).toEqual([]);
  });

  it('is served through the AccountDirectory', async () => {
    const accountId = await newAccount('Directory');
    await addSender(database.db, { accountId, sender: 'Cached' });
    const directory = AccountDirectory.fromDatabase(database.db);

    expect(await directory.findSender(accountId, 'Cached')).toEqual({ accountId, sender: 'Cached', connectorId: null });
    expect(await directory.findSender(accountId, 'CACHED')).toBeNull();
    expect(await directory.findSender('not-a-uuid', 'Cached')).toBeNull();
  });
});
