import { randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@reach/testing';
import {
  abandonIdempotentRequest,
  beginIdempotentRequest,
  completeIdempotentRequest,
  IDEMPOTENCY_KEY_TTL_MS,
  IN_PROGRESS_TAKEOVER_MS,
  purgeExpiredIdempotencyKeys,
} from './idempotency-keys.repository';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

const t0 = new Date('2026-11-22T10:00:00.000Z');
const at = (ms: number) => new Date(t0.getTime() + ms);
const answer = { success: true, data: { message_id: 'm-1', status: 'dispatched', nested: { b: 2, a: 1 } } };

function claimFor(overrides: Partial<{ accountId: string; key: string; requestHash: string; now: Date }> = {}) {
  return { accountId: randomUUID(), key: `key-${randomUUID()}`, requestHash: 'hash-1', now: t0, ...overrides };
}

async function startedClaim(claim: ReturnType<typeof claimFor>) {
  const begun = await beginIdempotentRequest(database.db, claim);
  if (begun.outcome !== 'started') throw new Error(`expected started, got ${begun.outcome}`);
  return begun.claimedAt;
}

describe('idempotency keys', () => {
  it('starts the first request with a key and replays its stored answer to the same request', async () => {
    const claim = claimFor();
    const claimedAt = await startedClaim(claim);
    expect(await completeIdempotentRequest(database.db, { ...claim, claimedAt, responseStatus: 202, responseBody: answer, now: at(50) })).toBe(true);

    expect(await beginIdempotentRequest(database.db, { ...claim, now: at(1000) })).toEqual({
      outcome: 'replay',
      responseStatus: 202,
      responseBody: answer,
    });
    const row = await database.db.selectFrom('idempotency_keys').selectAll().where('key', '=', claim.key).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'completed', response_status: 202, created_at: t0, completed_at: at(50), request_hash: 'hash-1' });
  });

  it('refuses the key for a different request, completed or still running', async () => {
    const running = claimFor();
    await startedClaim(running);
    expect(await beginIdempotentRequest(database.db, { ...running, requestHash: 'hash-2' })).toEqual({ outcome: 'mismatch' });

    const done = claimFor();
    const claimedAt = await startedClaim(done);
    await completeIdempotentRequest(database.db, { ...done, claimedAt, responseStatus: 202, responseBody: answer, now: t0 });
    expect(await beginIdempotentRequest(database.db, { ...done, requestHash: 'hash-2' })).toEqual({ outcome: 'mismatch' });
  });

  it('keeps keys per account: another account may use the same key for anything', async () => {
    const mine = claimFor({ key: 'shared-key' });
    await startedClaim(mine);
    const theirs = claimFor({ key: 'shared-key', requestHash: 'other' });
    expect((await beginIdempotentRequest(database.db, theirs)).outcome).toBe('started');
  });

  it('answers in_progress to the same request while the first is running', async () => {
    const claim = claimFor();
    await startedClaim(claim);
    expect(await beginIdempotentRequest(database.db, { ...claim, now: at(IN_PROGRESS_TAKEOVER_MS - 1) })).toEqual({ outcome: 'in_progress' });
  });

  it('lets the same request take over a record abandoned mid-request, once', async () => {
    const claim = claimFor();
    const firstClaim = await startedClaim(claim);
    const later = at(IN_PROGRESS_TAKEOVER_MS + 1);
    const [a, b] = await Promise.all([
      beginIdempotentRequest(database.db, { ...claim, now: later }),
      beginIdempotentRequest(database.db, { ...claim, now: later }),
    ]);
    expect([a.outcome, b.outcome].sort()).toEqual(['in_progress', 'started']);
    // The original owner's claim is gone: its late answer is not stored over the new owner's.
    expect(await completeIdempotentRequest(database.db, { ...claim, claimedAt: firstClaim, responseStatus: 202, responseBody: answer, now: later })).toBe(false);
    expect(await completeIdempotentRequest(database.db, { ...claim, claimedAt: later, responseStatus: 202, responseBody: answer, now: later })).toBe(true);
  });

  it('forgets an abandoned (5xx) request so the same key starts again', async () => {
    const claim = claimFor();
    const claimedAt = await startedClaim(claim);
    await abandonIdempotentRequest(database.db, { ...claim, claimedAt });
    expect((await beginIdempotentRequest(database.db, { ...claim, now: at(10) })).outcome).toBe('started');
  });

  it('does not abandon a completed request', async () => {
    const claim = claimFor();
    const claimedAt = await startedClaim(claim);
    await completeIdempotentRequest(database.db, { ...claim, claimedAt, responseStatus: 202, responseBody: answer, now: t0 });
    await abandonIdempotentRequest(database.db, { ...claim, claimedAt });
    expect((await beginIdempotentRequest(database.db, claim)).outcome).toBe('replay');
  });

  it('treats an expired key as new: the old record is replaced, even for a different request', async () => {
    const claim = claimFor();
    const claimedAt = await startedClaim(claim);
    await completeIdempotentRequest(database.db, { ...claim, claimedAt, responseStatus: 202, responseBody: answer, now: t0 });
    const afterExpiry = at(IDEMPOTENCY_KEY_TTL_MS + 1);
    expect(await beginIdempotentRequest(database.db, { ...claim, requestHash: 'hash-2', now: afterExpiry })).toEqual({
      outcome: 'started',
      claimedAt: afterExpiry,
    });
    const row = await database.db.selectFrom('idempotency_keys').selectAll().where('key', '=', claim.key).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'in_progress', request_hash: 'hash-2', response_body: null, created_at: afterExpiry });
  });

  it('still replays just before expiry', async () => {
    const claim = claimFor();
    const claimedAt = await startedClaim(claim);
    await completeIdempotentRequest(database.db, { ...claim, claimedAt, responseStatus: 202, responseBody: answer, now: t0 });
    expect((await beginIdempotentRequest(database.db, { ...claim, now: at(IDEMPOTENCY_KEY_TTL_MS - 1) })).outcome).toBe('replay');
  });

  it('purges every record older than the cut-off and nothing newer', async () => {
    const old = claimFor({ now: new Date('2020-01-01T00:00:00.000Z') });
    const recent = claimFor({ now: new Date('2020-01-03T00:00:00.000Z') });
    await startedClaim(old);
    await startedClaim(recent);
    expect(await purgeExpiredIdempotencyKeys(database.db, new Date('2020-01-02T00:00:00.000Z'))).toBe(1);
    const keys = await database.db.selectFrom('idempotency_keys').select('key').where('key', 'in', [old.key, recent.key]).execute();
    expect(keys.map((k) => k.key)).toEqual([recent.key]);
  });

  it('lets exactly one of many concurrent requests with one key start', async () => {
    const claim = claimFor();
    const outcomes = await Promise.all(Array.from({ length: 8 }, () => beginIdempotentRequest(database.db, claim)));
    const started = outcomes.filter((o) => o.outcome === 'started');
    expect(started).toHaveLength(1);
    expect(outcomes.filter((o) => o.outcome === 'in_progress')).toHaveLength(7);
  });

  it('lets exactly one of two concurrent different requests with one key start; the other is a mismatch', async () => {
    const claim = claimFor();
    const outcomes = await Promise.all([
      beginIdempotentRequest(database.db, claim),
      beginIdempotentRequest(database.db, { ...claim, requestHash: 'hash-2' }),
    ]);
    expect(outcomes.map((o) => o.outcome).sort()).toEqual(['mismatch', 'started']);
  });
});
