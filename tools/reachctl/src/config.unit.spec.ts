import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { ConfigError, DEFAULT_API_KEY_SECRET_FILE, loadConfig } from './config';

describe('loadConfig', () => {
  it('defaults to the local platform', () => {
    expect(loadConfig({})).toEqual({
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/reach',
      natsUrl: 'nats://127.0.0.1:4222',
      namespace: 'reach',
      streamReplicas: 1,
      apiKeySecret: { kind: 'file', path: DEFAULT_API_KEY_SECRET_FILE, explicit: false },
    });
  });

  it('reads DATABASE_URL, NATS_URL and REACH_NAMESPACE, treating empty values as unset', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgresql://reach:pw@db:5432/reach_prod',
      NATS_URL: 'nats://a:4222, nats://b:4222',
      REACH_NAMESPACE: '',
      REACH_API_KEY_SECRET: '',
      UNRELATED: 'ignored',
    });
    expect(config).toEqual({
      databaseUrl: 'postgresql://reach:pw@db:5432/reach_prod',
      natsUrl: 'nats://a:4222, nats://b:4222',
      namespace: 'reach',
      streamReplicas: 1,
      apiKeySecret: { kind: 'file', path: DEFAULT_API_KEY_SECRET_FILE, explicit: false },
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads NATS_STREAM_REPLICAS as the services do, from 1 to 5', () => {
    expect(loadConfig({ NATS_STREAM_REPLICAS: '3' }).streamReplicas).toBe(3);
    expect(() => loadConfig({ NATS_STREAM_REPLICAS: '0' })).toThrow(/NATS_STREAM_REPLICAS/);
    expect(() => loadConfig({ NATS_STREAM_REPLICAS: 'three' })).toThrow(/NATS_STREAM_REPLICAS/);
  });

  it('looks for the API key secret in .data/api-key-secret at the repository root, where npm start writes it', () => {
    expect(DEFAULT_API_KEY_SECRET_FILE).toBe(path.resolve(__dirname, '../../../.data/api-key-secret'));
  });

  it('takes the API key secret from REACH_API_KEY_SECRET, else from the file REACH_API_KEY_SECRET_FILE names', () => {
    const secret = randomBytes(32);
    const fromValue = loadConfig({ REACH_API_KEY_SECRET: secret.toString('hex'), REACH_API_KEY_SECRET_FILE: '/ignored' }).apiKeySecret;
    expect(fromValue.kind === 'value' && fromValue.secret.equals(secret)).toBe(true);

    expect(loadConfig({ REACH_API_KEY_SECRET_FILE: 'secrets/reach-key' }).apiKeySecret).toEqual({
      kind: 'file',
      path: path.resolve('secrets/reach-key'),
      explicit: true,
    });
  });

  it('refuses what it cannot use, naming the variable and never echoing its value', () => {
    expect(() => loadConfig({ DATABASE_URL: 'mysql://root:hunter2@db/reach' })).toThrow(ConfigError);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://root:hunter2@db/reach' })).toThrow(/DATABASE_URL/);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://root:hunter2@db/reach' })).not.toThrow(/hunter2/);
    expect(() => loadConfig({ REACH_NAMESPACE: 'Reach-Prod' })).toThrow(/REACH_NAMESPACE/);
    expect(() => loadConfig({ NATS_URL: 'not a url' })).toThrow(/NATS_URL/);

    const weak = randomBytes(16).toString('hex');
    expect(() => loadConfig({ REACH_API_KEY_SECRET: weak })).toThrow(/^invalid configuration: REACH_API_KEY_SECRET: .*too short.*openssl rand -hex 32/);
    expect(() => loadConfig({ REACH_API_KEY_SECRET: weak })).not.toThrow(new RegExp(weak));
  });
});
