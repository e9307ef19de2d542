import { randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@reach/testing';
import type { PartReceipt } from './smpp-outcomes';
import { type SubmissionRow, insertSubmissions, partsOfMessages, recordPartReceipts } from './smpp-submissions.repository';

/** `smpp_submissions` statements, each for many calls at once, in a real Postgres. */

const delivered: PartReceipt = { outcome: 'delivered', stat: 'DELIVRD', err: '000', dlrDate: '2601021200' };
const undelivered: PartReceipt = { outcome: 'undelivered', stat: 'UNDELIV', err: '001', dlrDate: '2601021201' };
const NOW = new Date('2026-01-02T12:00:00Z');

describe('smpp_submissions repository', () => {
  let database: TestDatabase;
  let connectorId: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    connectorId = randomUUID();
    await database.db
      .insertInto('smpp_connectors')
      .values({ id: connectorId, name: 'repo-spec', host: '127.0.0.1', port: 2775, system_id: 'reach', password_sealed: Buffer.from('sealed') })
      .execute();
  });

  afterAll(async () => {
    await database.drop();
  });

  /** A message of `count` parts, recorded; its rows. */
  async function submitted(count: number): Promise<SubmissionRow[]> {
    const messageId = randomUUID();
    const rows = Array.from({ length: count }, (_, i) => ({ connectorId, carrierMessageId: randomUUID(), messageId, partIndex: i + 1, partCount: count }));
    await insertSubmissions(database.db, rows);
    return rows;
  }

  it('inserts many messages in one statement, a row already there kept, and reads them back per message in part order', async () => {
    const [one, two] = [await submitted(1), await submitted(3)];
    if (!one || !two) throw new Error('not submitted');
    // The same carrier ids again, twice in one statement, once claiming another message: kept as first written.
    await insertSubmissions(database.db, [...two.map((r) => ({ ...r, messageId: one[0]?.messageId ?? '' })), ...two]);
    const unknown = randomUUID();
    const parts = await partsOfMessages(database.db, [two[0]?.messageId.toUpperCase() ?? '', unknown, one[0]?.messageId ?? '']);
    expect(parts.map((p) => p.map((r) => r.carrierMessageId))).toEqual([two.map((r) => r.carrierMessageId), [], one.map((r) => r.carrierMessageId)]);
    expect(parts[0]?.every((p) => p.receipt === null && p.partCount === 3)).toBe(true);
  });

  it('records receipts in one statement: fresh, repeated, unknown, and the same carrier id twice', async () => {
    const single = await submitted(1);
    const multi = await submitted(2);
    const [s, m1, m2] = [single[0], multi[0], multi[1]];
    if (!s || !m1 || !m2) throw new Error('not submitted');
    await recordPartReceipts(database.db, [{ connectorId, carrierMessageId: m2.carrierMessageId, receipt: undelivered }], NOW);

    const results = await recordPartReceipts(
      database.db,
      [
        { connectorId: connectorId.toUpperCase(), carrierMessageId: s.carrierMessageId, receipt: delivered },
        { connectorId, carrierMessageId: m1.carrierMessageId, receipt: delivered },
        { connectorId, carrierMessageId: m2.carrierMessageId, receipt: delivered },
        { connectorId, carrierMessageId: 'not-ours', receipt: delivered },
        { connectorId, carrierMessageId: s.carrierMessageId, receipt: undelivered },
      ],
      NOW,
    );
    expect(results).toEqual([
      { fresh: true, alone: true, part: { ...s, receipt: delivered } },
      { fresh: true, alone: false, part: { ...m1, receipt: delivered } },
      // A repeat: the first receipt stays, and counts.
      { fresh: false, alone: false, part: { ...m2, receipt: undelivered } },
      null,
      { fresh: false, alone: false, part: { ...s, receipt: delivered } },
    ]);
    const rows = await database.db.selectFrom('smpp_submissions').select(['carrier_message_id', 'outcome', 'receipted_at']).where('message_id', 'in', [s.messageId, m1.messageId]).execute();
    expect(rows).toHaveLength(3);
    expect(rows.every((r) => r.receipted_at?.getTime() === NOW.getTime())).toBe(true);
    expect(Object.fromEntries(rows.map((r) => [r.carrier_message_id, r.outcome]))).toEqual({
      [s.carrierMessageId]: 'delivered',
      [m1.carrierMessageId]: 'delivered',
      [m2.carrierMessageId]: 'undelivered',
    });
  });
});
