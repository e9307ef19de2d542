import { randomBytes } from 'node:crypto';
import { AccountsError, findSender, listSenders } from '@reach/accounts';
import { createTestDatabase, testUrls, type TestDatabase } from '@reach/testing';
import { createAccountCommand } from './account.command';
import { main } from './main';
import { addSenderCommand } from './sender.command';

const issuing = { apiKeySecret: randomBytes(32) };
const apiKeySecret = { kind: 'value' as const, secret: issuing.apiKeySecret };

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

const now = new Date('2026-11-22T12:00:00.000Z');
const newAccount = (name: string) => createAccountCommand(database.db, { name, allowanceSegments: 1000, overagePriceUsd: 0.0075 }, now, issuing);

function run(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const readConfig = () => ({ databaseUrl: database.url, natsUrl: testUrls.nats, namespace: 'reach', apiKeySecret });
  const exit = main(['node', 'reachctl', ...args], { io: { out: (line) => out.push(line), err: (line) => err.push(line) }, readConfig });
  return exit.then((code) => ({ code, out, err }));
}

describe('reachctl sender add', () => {
  it('registers a sender id, idempotently, and refuses a case variant', async () => {
    const { accountId } = await newAccount('Senders');

    const added = await addSenderCommand(database.db, { accountId, sender: 'Acme' }, now);
    expect(added).toEqual({ accountId, sender: 'Acme' });
    expect(await addSenderCommand(database.db, { accountId, sender: 'Acme' }, now)).toEqual(added);

    const variant = addSenderCommand(database.db, { accountId, sender: 'ACME' }, now);
    await expect(variant).rejects.toBeInstanceOf(AccountsError);
    await expect(variant).rejects.toMatchObject({ code: 'SENDER_CASE_CONFLICT' });
    expect(await listSenders(database.db, accountId)).toEqual([{ ...added, connectorId: null }]);
  });

  it('prints exactly accountId and sender with --json, and a sentence without', async () => {
    const { accountId } = await newAccount('Json');

    const { code, out, err } = await run('sender', 'add', '--account', accountId, '--sender', 'Acme 2FA', '--json');
    expect({ code, err }).toEqual({ code: 0, err: [] });
    expect(out).toHaveLength(1);
    const printed = JSON.parse(out[0]!) as Record<string, string>;
    expect(Object.keys(printed)).toEqual(['accountId', 'sender']);
    expect(printed).toEqual({ accountId, sender: 'Acme 2FA' });
    expect(await findSender(database.db, accountId, 'Acme 2FA')).toEqual({ accountId, sender: 'Acme 2FA', connectorId: null });

    const human = await run('sender', 'add', '--account', accountId, '--sender', 'Acme 2FA');
    expect(human).toEqual({ code: 0, out: [`sender id "Acme 2FA" is registered to account ${accountId}`], err: [] });
  });

  it('reports invalid sender ids, case variants and unknown accounts on stderr with exit code 1', async () => {
    const { accountId } = await newAccount('Errors');
    await run('sender', 'add', '--account', accountId, '--sender', 'Acme');

    for (const sender of ['ABCDEFGHIJKL', '12345', 'Acme!']) {
      const invalid = await run('sender', 'add', '--account', accountId, '--sender', sender, '--json');
      expect(invalid).toMatchObject({ code: 1, out: [] });
      expect(invalid.err).toEqual([expect.stringMatching(/^reachctl: sender id .*\[INVALID_SENDER\]$/)]);
    }

    const variant = await run('sender', 'add', '--account', accountId, '--sender', 'acme', '--json');
    expect(variant).toMatchObject({ code: 1, out: [] });
    expect(variant.err).toEqual([expect.stringMatching(/differs from "acme" only in case \[SENDER_CASE_CONFLICT\]$/)]);

    const unknown = await run('sender', 'add', '--account', '00000000-0000-4000-8000-000000000000', '--sender', 'Ghost', '--json');
    expect(unknown).toMatchObject({ code: 1, out: [] });
    expect(unknown.err).toEqual([expect.stringMatching(/\[ACCOUNT_NOT_FOUND\]$/)]);

    const missing = await run('sender', 'add', '--account', accountId);
    expect(missing.code).toBe(1);
    expect(missing.err.join('\n')).toMatch(/required option '--sender <name>' not specified/);
    expect(await listSenders(database.db, accountId)).toEqual([{ accountId, sender: 'Acme', connectorId: null }]);
  });
});
