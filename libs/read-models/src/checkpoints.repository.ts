import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '@reach/database';
import { START, formatPosition, parsePosition, type LogPosition } from '@reach/event-store';

export async function readCheckpoint(db: Kysely<Database>, name: string): Promise<LogPosition> {
  const row = await db.selectFrom('checkpoints').select('position').where('name', '=', name).executeTakeFirst();
  return row ? parsePosition(row.position) : START;
}

export async function saveCheckpoint(db: Kysely<Database> | Transaction<Database>, name: string, position: LogPosition): Promise<void> {
  await db
    .insertInto('checkpoints')
    .values({ name, position: formatPosition(position) })
    .onConflict((oc) => oc.column('name').doUpdateSet({ position: formatPosition(position), updated_at: sql`now()` }))
    .execute();
}
