import { Writable } from 'node:stream';
import { runWithLogFields } from '@reach/telemetry';
import { createLogger } from './logger';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      raw.push(chunk.toString());
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger('test', 'debug', stream), lines, raw };
}

describe('createLogger', () => {
  it('adds the log context of the work a line is written from', () => {
    const { logger, lines } = capture();
    runWithLogFields({ correlationId: 'req-1', messageId: 'm-1', accountId: 'a-1' }, () => logger.info('inside'));
    logger.info({ messageId: 'explicit' }, 'outside');
    runWithLogFields({ messageId: 'm-2' }, () => logger.child({ component: 'c' }).info({ messageId: 'wins' }, 'child'));
    expect(lines[0]).toMatchObject({ msg: 'inside', correlationId: 'req-1', messageId: 'm-1', accountId: 'a-1' });
    expect(lines[1]).toMatchObject({ msg: 'outside', messageId: 'explicit' });
    expect(lines[1]).not.toHaveProperty('correlationId');
    expect(lines[2]).toMatchObject({ msg: 'child', component: 'c', messageId: 'wins' });
  });

  it('never writes credentials: API keys, webhook secrets, passwords, the platform secret', () => {
    const { logger, raw } = capture();
    const secrets = ['ak_live_1', 'ak_live_2', 'ak_live_3', 'whsec_4', 'pw_5', 'platform_6', 'ak_live_7', 'Bearer ak_live_8', 'sk_9'];
    logger.info({ req: { headers: { authorization: secrets[7], apikey: secrets[0], 'api-key': secrets[1], 'x-api-key': secrets[2] } } }, 'request');
    logger.info({ webhook: { secret: secrets[3] }, password: secrets[4] }, 'webhook');
    logger.info({ config: { REACH_API_KEY_SECRET: secrets[5] }, apiKey: secrets[6], signingKey: secrets[8] }, 'config');
    logger.info({ headers: { ApiKey: secrets[0], Authorization: secrets[7] } }, 'raw headers');
    const text = raw.join('');
    for (const secret of secrets) expect(text).not.toContain(secret);
    expect(text.match(/\[redacted\]/g)?.length).toBeGreaterThanOrEqual(secrets.length);
  });
});
