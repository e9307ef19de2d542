import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readApiKeySecret } from './api-key-secret';
import { CliError } from './cli-errors';

/** Reads real files: the secret file `npm start` writes, or the one REACH_API_KEY_SECRET_FILE names. */
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'reachctl-secret-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('readApiKeySecret', () => {
  it('returns the secret given in REACH_API_KEY_SECRET as it is', () => {
    const secret = randomBytes(32);
    expect(readApiKeySecret({ kind: 'value', secret })).toBe(secret);
  });

  it('reads the file, as npm start writes it (hex and a newline)', () => {
    const secret = randomBytes(32);
    const file = path.join(dir, 'api-key-secret');
    writeFileSync(file, `${secret.toString('hex')}\n`, { mode: 0o600 });
    expect(readApiKeySecret({ kind: 'file', path: file, explicit: false }).equals(secret)).toBe(true);
  });

  it('says how to provide a secret when there is none', () => {
    const missing = path.join(dir, 'nope');
    const read = () => readApiKeySecret({ kind: 'file', path: missing, explicit: false });
    expect(read).toThrow(CliError);
    expect(read).toThrow(`no API key secret: REACH_API_KEY_SECRET is not set and ${missing} does not exist.`);
    expect(read).toThrow(/set REACH_API_KEY_SECRET \(generate one with `openssl rand -hex 32`\), or REACH_API_KEY_SECRET_FILE/);
    expect(read).toThrow(/callbacks service and the dispatcher must use the same one/);
    expect(() => readApiKeySecret({ kind: 'file', path: missing, explicit: true })).toThrow(
      `no API key secret: REACH_API_KEY_SECRET_FILE names ${missing}, which does not exist.`,
    );
  });

  it('refuses a file that holds no usable secret, naming the file but not its content', () => {
    const file = path.join(dir, 'weak');
    writeFileSync(file, 'changeme\n');
    const read = () => readApiKeySecret({ kind: 'file', path: file, explicit: true });
    expect(read).toThrow(CliError);
    expect(read).toThrow(new RegExp(`^${file}: the API key secret is too short`));
    expect(read).not.toThrow(/changeme/);
  });
});
