import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  authenticateBearer,
  findDeviceByToken,
  findSender,
  getBalance,
  listConnectors,
  loadConnectors,
  parseApiKeySecret,
  signingApiKey,
} from '@reach/accounts';
import { createTestDatabase, type TestDatabase } from '@reach/testing';

/** The built CLI, run the way an operator runs it: a separate process configured by env vars. */
const root = join(__dirname, '..', '..', '..');
const bin = join(root, 'tools', 'reachctl', 'bin', 'reachctl.js');
let database: TestDatabase;
/** The platform secret, as an operator exports it; every test that creates an account passes it. */
const secretText = randomBytes(32).toString('hex');
const withSecret = { REACH_API_KEY_SECRET: secretText };

beforeAll(async () => {
  // Incremental: quick when dist is current, and it keeps the test honest after source edits.
  try {
    execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-b', 'tools/reachctl'], { cwd: root, stdio: 'pipe' });
  } catch (error) {
    const output = (error as { stdout?: Buffer }).stdout?.toString() ?? String(error);
    throw new Error(`cannot build reachctl (npx tsc -b tools/reachctl):\n${output}`);
  }
  database = await createTestDatabase();
}, 180_000);

afterAll(async () => {
  await database?.drop();
});

function reachctl(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [bin, ...args], { cwd: root, env: { ...process.env, ...env }, timeout: 20_000 }, (error, stdout, stderr) => {
      // Killed by the timeout: a connection left open would keep the process alive.
      if (error?.killed) reject(new Error(`reachctl ${args.join(' ')} did not exit within 20 s`));
      else resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
    });
  });
}

describe('the reachctl executable', () => {
  it('creates an account and prints it as JSON, then exits', async () => {
    const { code, stdout, stderr } = await reachctl(['account', 'create', '--name', 'x', '--json'], { DATABASE_URL: database.url, ...withSecret });

    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const printed = JSON.parse(stdout) as { accountId: string; apiKey: string; apiUser: string };
    expect(Object.keys(printed)).toEqual(['accountId', 'apiKey', 'apiUser']);
    expect((await authenticateBearer(database.db, printed.apiKey))?.id).toBe(printed.accountId);
    expect(await signingApiKey(database.db, parseApiKeySecret(secretText), printed.accountId)).toBe(printed.apiKey);
  });

  it('registers a sender id and sets and shows a balance, printing JSON', async () => {
    const env = { DATABASE_URL: database.url, ...withSecret };
    const created = await reachctl(['account', 'create', '--name', 'Prepaid', '--json'], env);
    const { accountId } = JSON.parse(created.stdout) as { accountId: string };

    const sender = await reachctl(['sender', 'add', '--account', accountId, '--sender', 'Acme', '--json'], env);
    expect(sender).toEqual({ code: 0, stdout: `${JSON.stringify({ accountId, sender: 'Acme' })}\n`, stderr: '' });
    expect(await findSender(database.db, accountId, 'Acme')).toEqual({ accountId, sender: 'Acme', connectorId: null });

    const set = await reachctl(['balance', 'set', '--account', accountId, '--amount', '10', '--json'], env);
    expect(set).toEqual({ code: 0, stdout: `${JSON.stringify({ accountId, balance: 10, currency: 'usd' })}\n`, stderr: '' });
    const show = await reachctl(['balance', 'show', '--account', accountId, '--json'], env);
    expect(show).toEqual(set);
    expect(await getBalance(database.db, accountId)).toEqual({ accountId, balance: 10, currency: 'usd' });

    const refused = await reachctl(['sender', 'add', '--account', accountId, '--sender', '12345', '--json'], env);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(/^reachctl: sender id "12345" must contain at least one letter \[INVALID_SENDER\]\n$/);
  });

  it('reads the platform secret from REACH_API_KEY_SECRET_FILE, and says how to set one when there is none', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reachctl-cli-'));
    try {
      const file = join(dir, 'api-key-secret');
      writeFileSync(file, `${secretText}\n`, { mode: 0o600 });
      const fromFile = await reachctl(['account', 'create', '--name', 'From file', '--json'], {
        DATABASE_URL: database.url,
        REACH_API_KEY_SECRET: '',
        REACH_API_KEY_SECRET_FILE: file,
      });
      expect({ code: fromFile.code, stderr: fromFile.stderr }).toEqual({ code: 0, stderr: '' });
      const printed = JSON.parse(fromFile.stdout) as { accountId: string; apiKey: string };
      expect(await signingApiKey(database.db, parseApiKeySecret(secretText), printed.accountId)).toBe(printed.apiKey);

      const missing = join(dir, 'missing');
      const none = await reachctl(['account', 'create', '--name', 'No secret', '--json'], {
        DATABASE_URL: database.url,
        REACH_API_KEY_SECRET: '',
        REACH_API_KEY_SECRET_FILE: missing,
      });
      expect(none.code).toBe(1);
      expect(none.stdout).toBe('');
      expect(none.stderr).toMatch(new RegExp(`^reachctl: no API key secret: REACH_API_KEY_SECRET_FILE names ${missing}, which does not exist\\. .*openssl rand -hex 32`));

      const weak = await reachctl(['account', 'create', '--name', 'Weak'], { DATABASE_URL: database.url, REACH_API_KEY_SECRET: 'changeme' });
      expect(weak.code).toBe(1);
      expect(weak.stderr).toMatch(/^reachctl: invalid configuration: REACH_API_KEY_SECRET: the API key secret is too short/);
      expect(weak.stderr).not.toContain('changeme');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('creates a device and adds a connector sealed under the platform secret, printing JSON; without the secret no connector is added', async () => {
    const env = { DATABASE_URL: database.url, ...withSecret };
    const created = await reachctl(['account', 'create', '--name', 'Channels', '--json'], env);
    const { accountId } = JSON.parse(created.stdout) as { accountId: string };

    const device = await reachctl(['device', 'create', '--account', accountId, '--name', 'Shop', '--json'], env);
    expect({ code: device.code, stderr: device.stderr }).toEqual({ code: 0, stderr: '' });
    const { deviceId, token } = JSON.parse(device.stdout) as { deviceId: string; token: string };
    expect((await findDeviceByToken(database.db, token))?.deviceId).toBe(deviceId);

    const args = ['connector', 'add', '--name', 'Carrier', '--host', 'smsc.example.net', '--port', '2775', '--system-id', 'reach', '--password', 'secret12'];
    const added = await reachctl([...args, '--account', accountId, '--json'], env);
    expect({ code: added.code, stderr: added.stderr }).toEqual({ code: 0, stderr: '' });
    const { connectorId } = JSON.parse(added.stdout) as { connectorId: string };
    const [loaded] = (await loadConnectors(database.db, parseApiKeySecret(secretText))).filter((c) => c.id === connectorId);
    expect(loaded).toMatchObject({ accountId, name: 'Carrier', password: 'secret12' });

    const listed = await reachctl(['connector', 'list', '--account', accountId, '--json'], env);
    expect(JSON.parse(listed.stdout)).toMatchObject({ connectors: [{ connectorId, name: 'Carrier' }] });
    expect(listed.stdout).not.toContain('secret12');

    const none = await reachctl([...args, '--platform'], { DATABASE_URL: database.url, REACH_API_KEY_SECRET: '', REACH_API_KEY_SECRET_FILE: join(tmpdir(), 'reachctl-no-such-secret') });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^reachctl: no API key secret: /);
    expect(await listConnectors(database.db)).toHaveLength(1);
  });

  it('exits with code 1 and says how to fix an unreachable database', async () => {
    const { code, stdout, stderr } = await reachctl(['account', 'create', '--name', 'x', '--json'], {
      DATABASE_URL: 'postgres://postgres@127.0.0.1:1/reach',
      ...withSecret,
    });

    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^reachctl: cannot reach PostgreSQL at postgres:\/\/postgres@127\.0\.0\.1:1\/reach \(ECONNREFUSED\): start it .* or set DATABASE_URL\n$/);
  });

  it('rejects an invalid environment before doing anything', async () => {
    const { code, stderr } = await reachctl(['account', 'create', '--name', 'x'], { REACH_NAMESPACE: 'Not Valid' });
    expect(code).toBe(1);
    expect(stderr).toMatch(/^reachctl: invalid configuration: REACH_NAMESPACE: /);
  });
});
