import { dropDatabase } from '@reach/testing';

export default async function globalTeardown(): Promise<void> {
  const platform = (globalThis as { __REACH_PLATFORM__?: { stop(): Promise<void> } }).__REACH_PLATFORM__;
  await platform?.stop();
  const databaseUrl = process.env['E2E_DATABASE_URL'];
  if (databaseUrl) await dropDatabase(databaseUrl);
}
