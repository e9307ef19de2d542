import { reachCellWebhookEvents } from '@reach/webhooks';
import { privateDestination, validateCreateWebhook, WEBHOOK_URL_MAX_LENGTH } from './create-webhook.request';

const strict = { allowPrivateNetworks: false };
const lenient = { allowPrivateNetworks: true };
const valid = { url: 'https://hooks.example.com/reach', label: 'Orders', events: ['sms.delivered', 'sms.failed'] };

function errorsOf(input: unknown, options = strict) {
  const result = validateCreateWebhook(input, options);
  if (result.ok) throw new Error(`expected a refusal, got ${JSON.stringify(result.value)}`);
  return result.errors;
}

describe('POST /v1/webhooks body', () => {
  it('accepts a valid body, trimming the label and keeping the events in order', () => {
    expect(validateCreateWebhook({ ...valid, label: '  Orders  ', extra: 1 }, strict)).toEqual({
      ok: true,
      value: { url: 'https://hooks.example.com/reach', label: 'Orders', events: ['sms.delivered', 'sms.failed'] },
    });
  });

  it('accepts every known event type', () => {
    const result = validateCreateWebhook({ ...valid, events: [...reachCellWebhookEvents] }, strict);
    expect(result.ok && result.value.events).toEqual(reachCellWebhookEvents);
  });

  it('stores the URL in its normalised form, which is what will be called', () => {
    const result = validateCreateWebhook({ ...valid, url: '  HTTPS://Hooks.Example.COM:443/a b?x=1 ' }, strict);
    expect(result.ok && result.value.url).toBe('https://hooks.example.com/a%20b?x=1');
  });

  it.each([
    [[1, 2], ''],
    ['text', ''],
    [null, ''],
  ])('refuses a body that is not an object (%j)', (input, field) => {
    expect(errorsOf(input)).toEqual([{ field, code: 'invalid_type', message: 'the request body must be a JSON object' }]);
  });

  it('reports every missing field at once, in field order', () => {
    expect(errorsOf({}).map((e) => [e.field, e.code])).toEqual([
      ['url', 'missing'],
      ['label', 'missing'],
      ['events', 'missing'],
    ]);
  });

  describe('url', () => {
    it.each([
      ['not a string', 42, 'invalid_type'],
      ['empty', '', 'empty'],
      ['blank', '   ', 'empty'],
      ['relative', '/webhooks/reach', 'invalid_url'],
      ['without a scheme', 'hooks.example.com/reach', 'invalid_url'],
      ['ftp', 'ftp://hooks.example.com/reach', 'invalid_url'],
      ['javascript', 'javascript:alert(1)', 'invalid_url'],
      ['a file URL', 'file:///etc/passwd', 'invalid_url'],
      ['without a host', 'http://', 'invalid_url'],
      ['with user and password', 'https://user:secret@hooks.example.com/reach', 'invalid_url'],
      ['with a user only', 'https://user@hooks.example.com/reach', 'invalid_url'],
      ['with an empty userinfo', 'https://@hooks.example.com/reach', 'invalid_url'],
      ['longer than 2048 characters', `https://hooks.example.com/${'a'.repeat(WEBHOOK_URL_MAX_LENGTH)}`, 'too_long'],
    ])('refuses a url %s', (_name, url, code) => {
      const errors = errorsOf({ ...valid, url });
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ field: 'url', code });
      expect(errors[0]!.message).toMatch(/^url /);
    });

    it('accepts exactly 2048 characters', () => {
      const base = 'https://hooks.example.com/';
      const url = base + 'a'.repeat(WEBHOOK_URL_MAX_LENGTH - base.length);
      expect(validateCreateWebhook({ ...valid, url }, strict).ok).toBe(true);
    });

    it('refuses a URL that only becomes too long once normalised', () => {
      // Each é becomes %C3%A9: 500 characters as typed, over 3000 as stored.
      const url = `https://hooks.example.com/${'é'.repeat(474)}`;
      expect(url.length).toBeLessThanOrEqual(WEBHOOK_URL_MAX_LENGTH);
      expect(errorsOf({ ...valid, url })[0]).toMatchObject({ field: 'url', code: 'too_long' });
    });

    it.each([
      'http://localhost/hook',
      'http://LOCALHOST:8080/hook',
      'http://localhost./hook',
      'http://api.localhost/hook',
      'http://127.0.0.1/hook',
      'http://127.1/hook',
      'http://2130706433/hook',
      'http://0x7f000001/hook',
      'http://0/hook',
      'http://10.1.2.3/hook',
      'http://172.16.0.1/hook',
      'http://192.168.1.10:3000/hook',
      'http://169.254.169.254/latest/meta-data',
      'http://100.64.0.1/',
      'http://[::1]/hook',
      'http://[::ffff:127.0.0.1]/hook',
      'http://[::ffff:7f00:1]/hook',
      'http://[fd00::1]/hook',
      'http://[fe80::1]/hook',
      'https://224.0.0.1/hook',
    ])('refuses the private or local destination %s', (url) => {
      const errors = errorsOf({ ...valid, url });
      expect(errors).toEqual([expect.objectContaining({ field: 'url', code: 'forbidden_destination' })]);
      expect(errors[0]!.message).toMatch(/^url must point at a public host: /);
    });

    it('names the reason of a refused literal IP', () => {
      expect(errorsOf({ ...valid, url: 'http://10.0.0.5/' })[0]!.message).toContain('private network (10.0.0.0/8)');
      expect(errorsOf({ ...valid, url: 'http://2130706433/' })[0]!.message).toContain('127.0.0.1');
    });

    it.each(['http://localhost:8080/hook', 'http://127.0.0.1:9000/hook', 'http://[::1]/hook', 'http://10.0.0.5/hook'])(
      'accepts %s when private networks are allowed',
      (url) => {
        expect(validateCreateWebhook({ ...valid, url }, lenient).ok).toBe(true);
      },
    );

    it('still refuses credentials and other schemes when private networks are allowed', () => {
      expect(errorsOf({ ...valid, url: 'http://u:p@localhost/' }, lenient)[0]).toMatchObject({ field: 'url', code: 'invalid_url' });
      expect(errorsOf({ ...valid, url: 'ftp://localhost/' }, lenient)[0]).toMatchObject({ field: 'url', code: 'invalid_url' });
    });

    it.each(['https://93.184.216.34/hook', 'http://[2606:4700::1111]/hook', 'https://localhost.example.com/hook', 'https://mylocalhost.dev/'])(
      'accepts the public destination %s',
      (url) => {
        expect(validateCreateWebhook({ ...valid, url }, strict).ok).toBe(true);
      },
    );
  });

  describe('privateDestination', () => {
    it('leaves host names to the connect-time check', () => {
      expect(privateDestination('internal.example.com')).toBeNull();
      expect(privateDestination('127.0.0.1.nip.io')).toBeNull();
    });

    it('judges bracketed IPv6 literals', () => {
      expect(privateDestination('[::1]')).toMatch(/loopback/);
      expect(privateDestination('[2606:4700::1111]')).toBeNull();
    });
  });

  describe('label', () => {
    it.each([
      ['not a string', 7, 'invalid_type'],
      ['empty', '', 'empty'],
      ['blank', ' \t ', 'empty'],
      ['101 characters', 'x'.repeat(101), 'too_long'],
    ])('refuses a label %s', (_name, label, code) => {
      expect(errorsOf({ ...valid, label })).toEqual([expect.objectContaining({ field: 'label', code, message: expect.stringMatching(/^label /) })]);
    });

    it('counts characters, not UTF-16 units, after trimming', () => {
      expect(validateCreateWebhook({ ...valid, label: ` ${'😀'.repeat(100)} ` }, strict).ok).toBe(true);
      expect(validateCreateWebhook({ ...valid, label: 'x'.repeat(100) }, strict).ok).toBe(true);
    });
  });

  describe('events', () => {
    it('refuses an empty list', () => {
      expect(errorsOf({ ...valid, events: [] })).toEqual([expect.objectContaining({ field: 'events', code: 'empty' })]);
    });

    it('refuses something that is not a list', () => {
      expect(errorsOf({ ...valid, events: 'sms.sent' })).toEqual([expect.objectContaining({ field: 'events', code: 'invalid_type' })]);
    });

    it('names an unknown event type and lists the allowed ones', () => {
      const errors = errorsOf({ ...valid, events: ['sms.sent', 'sms.bounced'] });
      expect(errors).toEqual([expect.objectContaining({ field: 'events[1]', code: 'unknown_event' })]);
      expect(errors[0]!.message).toContain('"sms.bounced"');
      for (const event of reachCellWebhookEvents) expect(errors[0]!.message).toContain(event);
    });

    it('refuses event types the platform does not emit yet', () => {
      expect(errorsOf({ ...valid, events: ['account.suspended'] })[0]).toMatchObject({ field: 'events[0]', code: 'unknown_event' });
    });

    it('refuses a repeated event type', () => {
      expect(errorsOf({ ...valid, events: ['sms.sent', 'sms.failed', 'sms.sent'] })).toEqual([
        expect.objectContaining({ field: 'events[2]', code: 'duplicate_event', message: expect.stringContaining('sms.sent') }),
      ]);
    });

    it('refuses an entry that is not a string, and reports each bad entry', () => {
      expect(errorsOf({ ...valid, events: [1, 'nope'] }).map((e) => [e.field, e.code])).toEqual([
        ['events[0]', 'invalid_type'],
        ['events[1]', 'unknown_event'],
      ]);
    });
  });
});
