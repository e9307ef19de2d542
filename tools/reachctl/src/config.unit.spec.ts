import { ConfigError, loadConfig } from './config';

describe('loadConfig', () => {
  it('defaults to the local platform', () => {
    expect(loadConfig({})).toEqual({
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/reach',
      natsUrl: 'nats://127.0.0.1:4222',
      namespace: 'reach',
    });
  });

  it('reads DATABASE_URL, NATS_URL and REACH_NAMESPACE, treating empty values as unset', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgresql://reach:pw@db:5432/reach_prod',
      NATS_URL: 'nats://a:4222, nats://b:4222',
      REACH_NAMESPACE: '',
      UNRELATED: 'ignored',
    });
    expect(config).toEqual({ databaseUrl: 'postgresql://reach:pw@db:5432/reach_prod', natsUrl: 'nats://a:4222, nats://b:4222', namespace: 'reach' });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('refuses what it cannot use, naming the variable and never echoing its value', () => {
    expect(() => loadConfig({ DATABASE_URL: 'mysql://root:hunter2@db/reach' })).toThrow(ConfigError);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://root:hunter2@db/reach' })).toThrow(/DATABASE_URL/);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://root:hunter2@db/reach' })).not.toThrow(/hunter2/);
    expect(() => loadConfig({ REACH_NAMESPACE: 'Reach-Prod' })).toThrow(/REACH_NAMESPACE/);
    expect(() => loadConfig({ NATS_URL: 'not a url' })).toThrow(/NATS_URL/);
  });
});
