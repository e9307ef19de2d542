import { randomBytes, randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@reach/testing';
import { AccountsError } from './accounts.errors';
import { createAccount } from './accounts.repository';
import { getBalance, refundReservation, reserveFunds, setBalance } from './balances.repository';

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

async function reservationCount(accountId: string): Promise<number> {
  const rows = await database.db.selectFrom('balance_reservations').select('message_id').where('account_id', '=', accountId).execute();
  return rows.length;
}

describe('prepaid balances', () => {
  it('treats an account without a balance as postpaid: null, and every reservation succeeds', async () => {
    const accountId = await newAccount('Postpaid');

    expect(await getBalance(database.db, accountId)).toBeNull();
    expect(await reserveFunds(database.db, { accountId, messageId: randomUUID(), amount: 1_000, currency: 'usd' })).toEqual({ ok: true });
    expect(await reservationCount(accountId)).toBe(0);
    expect(await getBalance(database.db, accountId)).toBeNull();
    expect(await getBalance(database.db, 'not-a-uuid')).toBeNull();
  });

  it('sets a balance, overwriting it on the next set, in a lower-cased currency', async () => {
    const accountId = await newAccount('Set');

    expect(await setBalance(database.db, { accountId, amount: 10, currency: 'USD' })).toEqual({ accountId, balance: 10, currency: 'usd' });
    expect(await setBalance(database.db, { accountId, amount: 2.5, currency: 'usd' })).toEqual({ accountId, balance: 2.5, currency: 'usd' });
    expect(await getBalance(database.db, accountId)).toEqual({ accountId, balance: 2.5, currency: 'usd' });
  });

  it('refuses bad amounts and currencies, another currency, and unknown accounts', async () => {
    const accountId = await newAccount('Refusals');
    await setBalance(database.db, { accountId, amount: 1, currency: 'usd' });

    for (const amount of [-0.01, Number.NaN, Number.POSITIVE_INFINITY, 100_000_000]) {
      await expectAccountsError(setBalance(database.db, { accountId, amount, currency: 'usd' }), 'INVALID_AMOUNT');
      await expectAccountsError(reserveFunds(database.db, { accountId, messageId: randomUUID(), amount, currency: 'usd' }), 'INVALID_AMOUNT');
    }
    for (const currency of ['', 'us', 'dollars', 'u$d']) {
      await expectAccountsError(setBalance(database.db, { accountId, amount: 1, currency }), 'INVALID_CURRENCY');
    }
    await expectAccountsError(setBalance(database.db, { accountId, amount: 1, currency: 'eur' }), 'CURRENCY_MISMATCH');
    await expectAccountsError(reserveFunds(database.db, { accountId, messageId: randomUUID(), amount: 0.1, currency: 'eur' }), 'CURRENCY_MISMATCH');
    expect(await getBalance(database.db, accountId)).toEqual({ accountId, balance: 1, currency: 'usd' });
    expect(await reservationCount(accountId)).toBe(0);

    const unknown = '00000000-0000-4000-8000-000000000000';
    await expectAccountsError(setBalance(database.db, { accountId: unknown, amount: 1, currency: 'usd' }), 'ACCOUNT_NOT_FOUND');
    await expectAccountsError(reserveFunds(database.db, { accountId: unknown, messageId: randomUUID(), amount: 1, currency: 'usd' }), 'ACCOUNT_NOT_FOUND');
    await expectAccountsError(reserveFunds(database.db, { accountId: 'nope', messageId: randomUUID(), amount: 1, currency: 'usd' }), 'ACCOUNT_NOT_FOUND');
  });

  it('reserves by debiting the balance, and refuses what the balance does not cover', async () => {
    const accountId = await newAccount('Reserve');
    await setBalance(database.db, { accountId, amount: 0.05, currency: 'usd' });

    expect(await reserveFunds(database.db, { accountId, messageId: randomUUID(), amount: 0.0075, currency: 'USD' })).toEqual({ ok: true });
    expect(await getBalance(database.db, accountId)).toEqual({ accountId, balance: 0.0425, currency: 'usd' });

    const refused = randomUUID();
    expect(await reserveFunds(database.db, { accountId, messageId: refused, amount: 0.05, currency: 'usd' })).toEqual({ ok: false, balance: 0.0425 });
    expect(await getBalance(database.db, accountId)).toEqual({ accountId, balance: 0.0425, currency: 'usd' });
    expect(await reservationCount(accountId)).toBe(1);
    // Refused means nothing was reserved: nothing to refund, and a later retry may still succeed.
    expect(await refundReservation(database.db, refused)).toBe(false);
    await setBalance(database.db, { accountId, amount: 1, currency: 'usd' });
    expect(await reserveFunds(database.db, { accountId, messageId: refused, amount: 0.05, currency: 'usd' })).toEqual({ ok: true });
    expect((await getBalance(database.db, accountId))?.balance).toBe(0.95);
  });

  it('lets a reservation take the balance to exactly zero, with no float drift', async () => {
    const accountId = await newAccount('Exact');
    await setBalance(database.db, { accountId, amount: 0.3, currency: 'usd' });
    for (const amount of [0.1, 0.2]) {
      expect(await reserveFunds(database.db, { accountId, messageId: randomUUID(), amount, currency: 'usd' })).toEqual({ ok: true });
    }
    expect((await getBalance(database.db, accountId))?.balance).toBe(0);
    expect(await reserveFunds(database.db, { accountId, messageId: randomUUID(), amount: 0.000001, currency: 'usd' })).toEqual({ ok: false, balance: 0 });
  });

  it('never overdraws: of 50 concurrent reservations against a balance covering 20, exactly 20 succeed', async () => {
    const accountId = await newAccount('Concurrent');
    await setBalance(database.db, { accountId, amount: 20 * 0.0075, currency: 'usd' });

    const results = await Promise.all(
      Array.from({ length: 50 }, () => reserveFunds(database.db, { accountId, messageId: randomUUID(), amount: 0.0075, currency: 'usd' })),
    );

    expect(results.filter((result) => result.ok)).toHaveLength(20);
    expect(results.filter((result) => !result.ok)).toHaveLength(30);
    expect(await getBalance(database.db, accountId)).toEqual({ accountId, balance: 0, currency: 'usd' });
    expect(await reservationCount(accountId)).toBe(20);
  });

  it('debits once for a repeated reservation of the same message, also when the repeats race', async () => {
    const accountId = await newAccount('Idempotent');
    await setBalance(database.db, { accountId, amount: 1, currency: 'usd' });
    const messageId = randomUUID();

    expect(await reserveFunds(database.db, { accountId, messageId, amount: 0.25, currency: 'usd' })).toEqual({ ok: true });
    expect(await reserveFunds(database.db, { accountId, messageId, amount: 0.25, currency: 'usd' })).toEqual({ ok: true });
    expect((await getBalance(database.db, accountId))?.balance).toBe(0.75);

    const racing = randomUUID();
    const results = await Promise.all(
      Array.from({ length: 10 }, () => reserveFunds(database.db, { accountId, messageId: racing, amount: 0.25, currency: 'usd' })),
    );
    expect(results).toEqual(Array.from({ length: 10 }, () => ({ ok: true })));
    expect((await getBalance(database.db, accountId))?.balance).toBe(0.5);
    expect(await reservationCount(accountId)).toBe(2);

    const other = await newAccount('Other');
    await expectAccountsError(reserveFunds(database.db, { accountId: other, messageId, amount: 0.25, currency: 'usd' }), 'RESERVATION_CONFLICT');
  });

  it('refunds a reservation once, even when refunds race, and does not debit again afterwards', async () => {
    const accountId = await newAccount('Refund');
    await setBalance(database.db, { accountId, amount: 1, currency: 'usd' });
    const messageId = randomUUID();
    await reserveFunds(database.db, { accountId, messageId, amount: 0.4, currency: 'usd' });
    expect((await getBalance(database.db, accountId))?.balance).toBe(0.6);

    const refunds = await Promise.all(Array.from({ length: 5 }, () => refundReservation(database.db, messageId)));
    expect(refunds.filter(Boolean)).toHaveLength(1);
    expect(await refundReservation(database.db, messageId)).toBe(false);
    expect((await getBalance(database.db, accountId))?.balance).toBe(1);

    expect(await reserveFunds(database.db, { accountId, messageId, amount: 0.4, currency: 'usd' })).toEqual({ ok: true });
    expect((await getBalance(database.db, accountId))?.balance).toBe(1);
    expect(await refundReservation(database.db, randomUUID())).toBe(false);
    expect(await refundReservation(database.db, 'not-a-uuid')).toBe(false);
  });

  it('joins the caller’s transaction: a rollback undoes the debit and the reservation', async () => {
    const accountId = await newAccount('Rollback');
    await setBalance(database.db, { accountId, amount: 1, currency: 'usd' });
    const messageId = randomUUID();

    await expect(
      database.db.transaction().execute(async (trx) => {
        expect(await reserveFunds(trx, { accountId, messageId, amount: 0.5, currency: 'usd' })).toEqual({ ok: true });
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect((await getBalance(database.db, accountId))?.balance).toBe(1);
    expect(await reservationCount(accountId)).toBe(0);
  });

  it('leaves no reservation behind when a refused reservation runs in a transaction that commits', async () => {
    const accountId = await newAccount('Committed');
    await setBalance(database.db, { accountId, amount: 0.1, currency: 'usd' });
    const messageId = randomUUID();

    await database.db.transaction().execute(async (trx) => {
      expect(await reserveFunds(trx, { accountId, messageId, amount: 0.5, currency: 'usd' })).toEqual({ ok: false, balance: 0.1 });
    });
    expect(await reservationCount(accountId)).toBe(0);
  });
});
