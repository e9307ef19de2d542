import fc from 'fast-check';
import {
  REACH_SCHEDULE_WINDOW,
  callbackUrlProblem,
  classifySource,
  validateMessageId,
  validateReachCreate,
  validateReachList,
  validateReachUpdate,
} from './reach-request';

const now = new Date('2026-03-10T12:00:00.000Z');
const ctx = { now, scheduleWindow: REACH_SCHEDULE_WINDOW };
const MIN = 15 * 60_000;
const MAX = 5 * 24 * 60 * 60_000;
const seed = { dest: '+237671234567', src: '+237691234567', body: 'Hello World! This is a sms message.' };

function create(extra: Record<string, unknown>) {
  return validateReachCreate({ ...seed, ...extra }, ctx);
}

function valueOf<T>(result: { ok: true; value: T } | { ok: false; error: unknown }): T {
  if (!result.ok) throw new Error(`expected ok, got ${JSON.stringify(result.error)}`);
  return result.value;
}

/** The errorCode, or 'ok'. */
function codeOf(result: { ok: true } | { ok: false; error: { errorCode: number } }): number | 'ok' {
  return result.ok ? 'ok' : result.error.errorCode;
}

function errorOf(result: { ok: true } | { ok: false; error: { status: number; errorCode: number; errorMessage: string; errorDetails: unknown } }) {
  if (result.ok) throw new Error('expected an error');
  return result.error;
}

const at = (offsetMs: number) => new Date(now.getTime() + offsetMs).toISOString();

describe('validateReachCreate', () => {
  it('accepts the seed request and fills the defaults', () => {
    expect(validateReachCreate(seed, ctx)).toEqual({
      ok: true,
      value: {
        dest: '+237671234567',
        destCountry: 'CM',
        src: '+237691234567',
        srcKind: 'number',
        body: seed.body,
        segments: { encoding: 'GSM-7', count: 1, units: 35 },
        bulkId: null,
        scheduledTime: null,
        validityPeriodSeconds: 14_400,
        statusCallback: null,
        maxPrice: null,
      },
    });
  });

  it('reads form-encoded strings and JSON values alike', () => {
    const common = { bulkIdentifier: 'spring-sale', scheduledTime: at(MIN), statusCallback: 'https://example.com/cb' };
    const form = valueOf(create({ ...common, validityPeriod: '60', maxPrice: '0.5' }));
    const json = valueOf(create({ ...common, validityPeriod: 60, maxPrice: 0.5 }));
    expect(form).toEqual(json);
    expect(form).toMatchObject({
      bulkId: 'spring-sale',
      scheduledTime: new Date(now.getTime() + MIN),
      validityPeriodSeconds: 60,
      statusCallback: 'https://example.com/cb',
      maxPrice: 0.5,
    });
  });

  it('ignores unknown parameters and treats null or empty optional ones as absent', () => {
    const value = valueOf(
      create({ extra: 'x', bulkIdentifier: '', scheduledTime: null, validityPeriod: '', statusCallback: null, maxPrice: '' }),
    );
    expect(value).toMatchObject({ bulkId: null, scheduledTime: null, validityPeriodSeconds: 14_400, statusCallback: null, maxPrice: null });
  });

  describe('missing request data (10002)', () => {
    it('names every missing parameter', () => {
      expect(errorOf(validateReachCreate({}, ctx))).toEqual({
        status: 400,
        errorCode: 10002,
        errorMessage: 'Missing required parameters: dest, src, body',
        errorDetails: { missingParams: ['dest', 'src', 'body'] },
      });
    });

    it.each(['dest', 'src', 'body'])('refuses a request without %s', (name) => {
      const { [name]: _omitted, ...rest } = seed as Record<string, string>;
      expect(errorOf(validateReachCreate(rest, ctx))).toMatchObject({ errorCode: 10002, errorDetails: { missingParams: [name] } });
      expect(errorOf(create({ [name]: null }))).toMatchObject({ errorCode: 10002, errorDetails: { missingParams: [name] } });
    });

    it('counts an empty dest or src as missing, but an empty body as blank (20103)', () => {
      expect(errorOf(create({ dest: '', src: '' }))).toMatchObject({ errorCode: 10002, errorDetails: { missingParams: ['dest', 'src'] } });
      expect(codeOf(create({ body: '' }))).toBe(20103);
    });

    it('reports missing parameters before any invalid one', () => {
      expect(codeOf(validateReachCreate({ dest: 'nope', body: '' }, ctx))).toBe(10002);
    });
  });

  describe('dest (20101)', () => {
    it.each([
      ['no plus', '237671234567'],
      ['spaces', '+237 671 234 567'],
      ['not a valid number', '+15555555555'],
      ['too short', '+1234'],
      ['letters', '+23767123456a'],
      ['national prefix kept', '+4402079460000'],
    ])('refuses %s: %j', (_why, dest) => {
      expect(errorOf(create({ dest }))).toMatchObject({ status: 400, errorCode: 20101, errorDetails: { param: 'dest' } });
    });

    it.each([[237671234567], [['+237671234567']], [{ n: 1 }]])('refuses a dest that is not one string: %j', (dest) => {
      expect(codeOf(create({ dest }))).toBe(20101);
    });

    it('refuses a message to its own sender', () => {
      const error = errorOf(create({ dest: '+237691234567', src: '+237691234567' }));
      expect(error).toMatchObject({ errorCode: 20101, errorDetails: { param: 'dest' } });
      expect(error.errorMessage).toMatch(/itself/);
    });

    it('reports dest before src', () => {
      expect(codeOf(create({ dest: 'x', src: 'y'.repeat(20) }))).toBe(20101);
    });
  });

  describe('src (20102)', () => {
    it.each([
      ['Reach', 'alphanumeric'],
      ['ABCDEFGHIJK', 'alphanumeric'], // 11 characters
      ['My Shop 24', 'alphanumeric'],
      ['A', 'alphanumeric'],
      ['1Shop', 'alphanumeric'],
      ['+237691234567', 'number'],
      ['+14155552671', 'number'],
    ])('accepts %j as %s', (src, kind) => {
      expect(classifySource(src)).toBe(kind);
      expect(valueOf(create({ src }))).toMatchObject({ src, srcKind: kind });
    });

    it.each([
      ['12 characters', 'ABCDEFGHIJKL'],
      ['all-digit short code', '12345'],
      ['all digits, 11 long', '14155552671'],
      ['digits and spaces only', '123 456'],
      ['underscore', 'Re_ach'],
      ['hyphen', 'Re-ach'],
      ['accented letter', 'Réach'],
      ['leading space', ' Reach'],
      ['trailing space', 'Reach '],
      ['only a space', ' '],
      ['invalid number', '+15555555555'],
      ['plus and letters', '+Reach'],
    ])('refuses %s: %j', (_why, src) => {
      expect(classifySource(src)).toBe('invalid');
      expect(errorOf(create({ src }))).toMatchObject({ status: 400, errorCode: 20102, errorDetails: { param: 'src' } });
    });

    it('refuses a src that is not one string', () => {
      expect(codeOf(create({ src: 237691234567 }))).toBe(20102);
      expect(codeOf(create({ src: ['Reach'] }))).toBe(20102);
    });

    it('accepts any 1–11 letters as an alphanumeric sender id', () => {
      fc.assert(
        fc.property(fc.stringMatching(/^[A-Za-z]{1,11}$/), (src) => {
          expect(classifySource(src)).toBe('alphanumeric');
          expect(valueOf(create({ src }))).toMatchObject({ src, srcKind: 'alphanumeric' });
        }),
      );
    });

    it('accepts a sender id iff it is 1–11 of [A-Za-z0-9 ], with a letter and no outer space', () => {
      fc.assert(
        fc.property(fc.stringMatching(/^[A-Za-z0-9 _-]{0,14}$/), (src) => {
          const expected = src.length >= 1 && src.length <= 11 && /^[A-Za-z0-9 ]*$/.test(src) && /[A-Za-z]/.test(src) && src.trim() === src;
          expect(classifySource(src)).toBe(expected ? 'alphanumeric' : 'invalid');
        }),
      );
    });

    it('never takes digits and spaces alone for a sender id', () => {
      fc.assert(fc.property(fc.stringMatching(/^[0-9 ]{1,11}$/), (src) => expect(classifySource(src)).toBe('invalid')));
    });
  });

  describe('body (20103, 20107, 20108)', () => {
    it.each([' ', '   ', '\n', '\t \r\n', '\u00a0'])('refuses a blank body %j (20103)', (body) => {
      expect(errorOf(create({ body }))).toMatchObject({ status: 400, errorCode: 20103, errorDetails: { param: 'body' } });
    });

    it('refuses a body that is not one string (20103)', () => {
      expect(codeOf(create({ body: 42 }))).toBe(20103);
      expect(codeOf(create({ body: ['a', 'b'] }))).toBe(20103);
    });

    it.each(['\uD800', 'abc\uDC00', 'x\uDBFFy'])('refuses a body with a lone surrogate (20107): %j', (body) => {
      expect(errorOf(create({ body }))).toMatchObject({ status: 400, errorCode: 20107 });
    });

    it('keeps a body as given, with its surrounding whitespace', () => {
      expect(valueOf(create({ body: '  hi  ' })).body).toBe('  hi  ');
    });

    it('accepts up to 10 GSM-7 segments: 1530 septets', () => {
      expect(valueOf(create({ body: 'a'.repeat(160) })).segments).toEqual({ encoding: 'GSM-7', count: 1, units: 160 });
      expect(valueOf(create({ body: 'a'.repeat(161) })).segments.count).toBe(2);
      expect(valueOf(create({ body: 'a'.repeat(1530) })).segments).toEqual({ encoding: 'GSM-7', count: 10, units: 1530 });
    });

    it('refuses 11 GSM-7 segments (20108), including 1531…1600 characters', () => {
      for (const n of [1531, 1599, 1600]) {
        expect(errorOf(create({ body: 'a'.repeat(n) }))).toMatchObject({ errorCode: 20108, errorDetails: { segments: 11, encoding: 'GSM-7' } });
      }
    });

    it('refuses more than 1600 GSM-7 characters as too long (20103)', () => {
      expect(errorOf(create({ body: 'a'.repeat(1601) }))).toMatchObject({ errorCode: 20103, errorDetails: { units: 1601 } });
    });

    it('counts the 1600 in septets: an extension character is two', () => {
      expect(codeOf(create({ body: '€'.repeat(800) }))).toBe(20108); // 1600 septets, 11 segments
      expect(errorOf(create({ body: '€'.repeat(801) }))).toMatchObject({ errorCode: 20103, errorDetails: { units: 1602 } });
      expect(valueOf(create({ body: '€'.repeat(760) })).segments).toEqual({ encoding: 'GSM-7', count: 10, units: 1520 });
    });

    it('segments UCS-2 bodies by 70 / 67 units', () => {
      expect(valueOf(create({ body: 'ж'.repeat(70) })).segments).toEqual({ encoding: 'UCS-2', count: 1, units: 70 });
      expect(valueOf(create({ body: 'ж'.repeat(71) })).segments).toEqual({ encoding: 'UCS-2', count: 2, units: 71 });
      expect(valueOf(create({ body: 'ж'.repeat(670) })).segments).toEqual({ encoding: 'UCS-2', count: 10, units: 670 });
      expect(errorOf(create({ body: 'ж'.repeat(671) }))).toMatchObject({ errorCode: 20108, errorDetails: { segments: 11, encoding: 'UCS-2' } });
      expect(codeOf(create({ body: 'ж'.repeat(1600) }))).toBe(20108);
      expect(codeOf(create({ body: 'ж'.repeat(1601) }))).toBe(20103);
    });

    it('makes a whole body UCS-2 for one character outside GSM-7', () => {
      const body = `${'a'.repeat(69)}ж`;
      expect(valueOf(create({ body })).segments).toEqual({ encoding: 'UCS-2', count: 1, units: 70 });
      expect(valueOf(create({ body: `a${body}` })).segments.count).toBe(2);
    });

    it('counts characters outside the BMP as two UCS-2 units, never split across parts', () => {
      // 33 pairs (66 units) per 67-unit part.
      expect(valueOf(create({ body: '😀'.repeat(330) })).segments).toEqual({ encoding: 'UCS-2', count: 10, units: 660 });
      expect(errorOf(create({ body: '😀'.repeat(331) }))).toMatchObject({ errorCode: 20108, errorDetails: { segments: 11 } });
    });

    it('accepts a GSM-7 body iff it fits 10 segments (and 1600 septets)', () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 2000 }), (n) => {
          const expected = n <= 1530 ? 'ok' : n <= 1600 ? 20108 : 20103;
          expect(codeOf(create({ body: 'x'.repeat(n) }))).toBe(expected);
        }),
        { numRuns: 300 },
      );
    });
  });

  describe('bulkIdentifier (10002)', () => {
    it('accepts up to 256 characters', () => {
      expect(valueOf(create({ bulkIdentifier: 'b'.repeat(256) })).bulkId).toBe('b'.repeat(256));
      expect(valueOf(create({ bulkIdentifier: '😀'.repeat(256) })).bulkId).toHaveLength(512);
    });

    it.each([
      ['257 characters', 'b'.repeat(257)],
      ['a number', 42],
      ['repeated', ['a', 'b']],
      ['a control character', 'a\u0000b'],
      ['a newline', 'a\nb'],
      ['a lone surrogate', 'a\uD800'],
    ])('refuses %s', (_why, bulkIdentifier) => {
      expect(errorOf(create({ bulkIdentifier }))).toMatchObject({ status: 400, errorCode: 10002, errorDetails: { param: 'bulkIdentifier' } });
    });
  });

  describe('scheduledTime (20104)', () => {
    it('accepts exactly the earliest and the latest time, and refuses 1 ms outside', () => {
      expect(valueOf(create({ scheduledTime: at(MIN) })).scheduledTime).toEqual(new Date(now.getTime() + MIN));
      expect(valueOf(create({ scheduledTime: at(MAX) })).scheduledTime).toEqual(new Date(now.getTime() + MAX));
      expect(errorOf(create({ scheduledTime: at(MIN - 1) }))).toMatchObject({
        status: 400,
        errorCode: 20104,
        errorDetails: { param: 'scheduledTime', earliest: '2026-03-10T12:15:00.000Z', latest: '2026-03-15T12:00:00.000Z' },
      });
      expect(codeOf(create({ scheduledTime: at(MAX + 1) }))).toBe(20104);
    });

    it('refuses the past and now', () => {
      expect(codeOf(create({ scheduledTime: at(0) }))).toBe(20104);
      expect(codeOf(create({ scheduledTime: '2016-08-31T01:23:45Z' }))).toBe(20104);
    });

    it('honours the offset written', () => {
      expect(valueOf(create({ scheduledTime: '2026-03-10T14:15:00+02:00' })).scheduledTime).toEqual(new Date('2026-03-10T12:15:00Z'));
      expect(codeOf(create({ scheduledTime: '2026-03-10T14:14:59+02:00' }))).toBe(20104);
      expect(valueOf(create({ scheduledTime: '2026-03-10T07:15-05:00' })).scheduledTime).toEqual(new Date('2026-03-10T12:15:00Z'));
    });

    it('uses the window it is given', () => {
      const tight = { now, scheduleWindow: { minAheadMs: 0, maxAheadMs: 1000 } };
      expect(validateReachCreate({ ...seed, scheduledTime: at(0) }, tight).ok).toBe(true);
      expect(validateReachCreate({ ...seed, scheduledTime: at(1001) }, tight).ok).toBe(false);
    });

    it.each([
      ['no offset', '2026-03-11T12:00:00'],
      ['a date only', '2026-03-11'],
      ['not a date', 'tomorrow'],
      ['an impossible date', '2026-02-30T12:00:00Z'],
      ['hour 24', '2026-03-11T24:00:00Z'],
      ['a space for T', '2026-03-11 12:00:00Z'],
      ['epoch milliseconds', now.getTime() + MIN + 1000],
      ['repeated', [at(MIN), at(MIN)]],
    ])('refuses %s: %j', (_why, scheduledTime) => {
      expect(codeOf(create({ scheduledTime }))).toBe(20104);
    });

    it('accepts a time iff it is inside the window', () => {
      fc.assert(
        fc.property(fc.integer({ min: -2 * MIN, max: MAX + 2 * MIN }), (offset) => {
          expect(create({ scheduledTime: at(offset) }).ok).toBe(offset >= MIN && offset <= MAX);
        }),
      );
    });
  });

  describe('validityPeriod (20105)', () => {
    it.each([
      [1, 1],
      ['1', 1],
      [14_400, 14_400],
      ['14400', 14_400],
      ['60', 60],
      ['0060', 60],
    ])('accepts %j', (validityPeriod, seconds) => {
      expect(valueOf(create({ validityPeriod })).validityPeriodSeconds).toBe(seconds);
    });

    it.each([0, '0', 14_401, '14401', -1, '-1', 'abc', '1.5', 1.5, ' 60', '+60', '1e3', '60s', true, ['60'], 'Infinity'])(
      'refuses %j',
      (validityPeriod) => {
        expect(errorOf(create({ validityPeriod }))).toMatchObject({ status: 400, errorCode: 20105, errorDetails: { param: 'validityPeriod' } });
      },
    );

    it('accepts an integer iff it is 1…14400, as a number or as a string', () => {
      fc.assert(
        fc.property(fc.integer({ min: -20_000, max: 40_000 }), fc.boolean(), (n, asString) => {
          const result = create({ validityPeriod: asString ? String(n) : n });
          const inRange = n >= 1 && n <= 14_400;
          expect(codeOf(result)).toBe(inRange ? 'ok' : 20105);
          if (result.ok) expect(result.value.validityPeriodSeconds).toBe(n);
        }),
      );
    });

    it('refuses every non-integer number', () => {
      fc.assert(
        fc.property(
          fc.double({ min: -20_000, max: 20_000, noNaN: true }).filter((d) => !Number.isInteger(d)),
          (d) => expect(codeOf(create({ validityPeriod: d }))).toBe(20105),
        ),
      );
    });

    it('accepts a string iff it is decimal digits naming 1…14400', () => {
      fc.assert(
        fc.property(fc.string({ maxLength: 7 }), (s) => {
          const expected = s === '' || (/^\d+$/.test(s) && Number(s) >= 1 && Number(s) <= 14_400) ? 'ok' : 20105;
          expect(codeOf(create({ validityPeriod: s }))).toBe(expected);
        }),
      );
    });
  });

  describe('statusCallback (20106)', () => {
    it.each([
      'https://example.com/callback',
      'http://example.com',
      'https://abcde123.app.com/callback',
      'https://example.com/cb?account=42&tag=a_b', // a query string, underscores outside the host
      'https://example.com/status_callback',
      'https://user:secret@example.com:8443/cb',
      'http://localhost:3000/cb',
      'http://callbacks/cb', // a single-label host (e.g. a compose service)
      'http://192.168.1.10:8080/cb',
      'http://[::1]:8080/cb',
      'HTTPS://Example.COM/cb',
      'https://exämple.com/cb',
      'https://example.com./cb',
    ])('accepts %j, kept as given', (statusCallback) => {
      expect(valueOf(create({ statusCallback })).statusCallback).toBe(statusCallback);
    });

    it.each([
      ['an underscore in the host', 'https://my_host.example.com/cb'],
      ['an underscore in a subdomain', 'http://a.b_c.example.com'],
      ['not http(s)', 'ftp://example.com/cb'],
      ['javascript', 'javascript:alert(1)'],
      ['relative', '/callback'],
      ['no scheme', 'example.com/callback'],
      ['no slashes', 'http:example.com/cb'],
      ['no host', 'https://'],
      ['a space in the host', 'https://exa mple.com/cb'],
      ['surrounding whitespace', ' https://example.com/cb'],
      ['a newline', 'https://example.com/cb\n'],
      ['a label starting with a hyphen', 'https://-example.com/cb'],
      ['an empty label', 'https://example..com/cb'],
      ['a label of 64 characters', `https://${'a'.repeat(64)}.com/cb`],
      ['an invalid IPv4', 'http://1.2.3.999/cb'],
      ['a fragment', 'https://example.com/cb#top'],
      ['over 2048 characters', `https://example.com/${'a'.repeat(2030)}`],
      ['a number', 42],
      ['repeated', ['https://example.com/a', 'https://example.com/b']],
    ])('refuses %s', (_why, statusCallback) => {
      expect(errorOf(create({ statusCallback }))).toMatchObject({ status: 400, errorCode: 20106, errorDetails: { param: 'statusCallback' } });
    });

    it('says why an underscore is refused', () => {
      expect(callbackUrlProblem('https://my_host.example.com/cb')).toMatch(/underscore/);
      expect(callbackUrlProblem('https://example.com/cb')).toBeNull();
    });

    it('accepts a label of 63 characters and a URL of 2048', () => {
      expect(callbackUrlProblem(`https://${'a'.repeat(63)}.com/cb`)).toBeNull();
      const base = 'https://example.com/';
      expect(callbackUrlProblem(base + 'a'.repeat(2048 - base.length))).toBeNull();
    });
  });

  describe('maxPrice (20109)', () => {
    it.each([
      ['0.5', 0.5],
      [0.5, 0.5],
      ['.5', 0.5],
      ['2', 2],
      [25, 25],
      ['0.000001', 0.000001],
      ['1e-7', 1e-7],
    ])('accepts %j', (maxPrice, value) => {
      expect(valueOf(create({ maxPrice })).maxPrice).toBe(value);
    });

    it.each([0, '0', '0.0', -1, '-1', '-0.5', 'abc', 'NaN', 'Infinity', '1e400', '0x10', '1,5', true, ['1']])('refuses %j', (maxPrice) => {
      expect(errorOf(create({ maxPrice }))).toMatchObject({ status: 400, errorCode: 20109, errorDetails: { param: 'maxPrice' } });
    });

    it('accepts every positive number, typed or as JavaScript writes it in a form', () => {
      fc.assert(
        fc.property(fc.double({ min: Number.MIN_VALUE, noNaN: true, noDefaultInfinity: true }), fc.boolean(), (d, asString) => {
          expect(valueOf(create({ maxPrice: asString ? String(d) : d })).maxPrice).toBe(d);
        }),
      );
    });

    it('refuses every number ≤ 0', () => {
      fc.assert(
        fc.property(fc.double({ max: 0, noNaN: true }), fc.boolean(), (d, asString) => {
          expect(codeOf(create({ maxPrice: asString ? String(d) : d }))).toBe(20109);
        }),
      );
    });
  });

  it('reports the first failing rule in the documented order', () => {
    const allBad = {
      dest: '+237691234567',
      src: '+237691234567',
      body: ' ',
      bulkIdentifier: 7,
      scheduledTime: 'x',
      validityPeriod: 0,
      statusCallback: 'ftp://x',
      maxPrice: 0,
    };
    const order = ['dest', 'body', 'bulkIdentifier', 'scheduledTime', 'validityPeriod', 'statusCallback', 'maxPrice'] as const;
    const fixes: Record<(typeof order)[number], Record<string, unknown>> = {
      dest: { dest: seed.dest },
      body: { body: 'hi' },
      bulkIdentifier: { bulkIdentifier: 'b' },
      scheduledTime: { scheduledTime: at(MIN) },
      validityPeriod: { validityPeriod: 5 },
      statusCallback: { statusCallback: 'https://example.com' },
      maxPrice: { maxPrice: 1 },
    };
    const expected = [20101, 20103, 10002, 20104, 20105, 20106, 20109];
    let input: Record<string, unknown> = allBad;
    order.forEach((name, i) => {
      expect(codeOf(validateReachCreate(input, ctx))).toBe(expected[i]);
      input = { ...input, ...fixes[name] };
    });
    expect(validateReachCreate(input, ctx).ok).toBe(true);
  });
});

describe('validateReachList', () => {
  it('defaults to the first page of 20', () => {
    expect(validateReachList({})).toEqual({
      ok: true,
      value: { dest: null, src: null, bulkId: null, sentOn: null, sentAfter: null, sentBefore: null, page: 0, pageSize: 20 },
    });
  });

  it('takes every filter', () => {
    const value = valueOf(
      validateReachList({
        dest: '+237671234567',
        src: 'Reach',
        bulkIdentifier: 'spring-sale',
        sentAt: '2026-03-01',
        sentAfter: '2026-03-01T08:00:00Z',
        sentBefore: '2026-03-01T18:00:00.500+01:00',
        page: '2',
        pageSize: '50',
      }),
    );
    expect(value).toEqual({
      dest: '+237671234567',
      src: 'Reach',
      bulkId: 'spring-sale',
      sentOn: { from: new Date('2026-03-01T00:00:00Z'), until: new Date('2026-03-02T00:00:00Z') },
      sentAfter: new Date('2026-03-01T08:00:00Z'),
      sentBefore: new Date('2026-03-01T17:00:00.500Z'),
      page: 2,
      pageSize: 50,
    });
  });

  it('reads a space before the digits of dest or src as the + a query string lost', () => {
    expect(valueOf(validateReachList({ dest: ' 237671234567', src: ' 14155552671' }))).toMatchObject({
      dest: '+237671234567',
      src: '+14155552671',
    });
  });

  it('needs only the E.164 shape, so messages with numbers no longer valid stay findable', () => {
    expect(valueOf(validateReachList({ dest: '+15555555555' })).dest).toBe('+15555555555');
  });

  it.each(['237671234567', 'abc', '+1', ['+237671234567']])('refuses dest %j (20101)', (dest) => {
    expect(errorOf(validateReachList({ dest }))).toMatchObject({ status: 400, errorCode: 20101 });
  });

  it.each(['12345', 'ABCDEFGHIJKL', 'Re_ach', 42])('refuses src %j (20102)', (src) => {
    expect(errorOf(validateReachList({ src }))).toMatchObject({ status: 400, errorCode: 20102 });
  });

  it('refuses a bulkIdentifier over 256 characters (10002)', () => {
    expect(codeOf(validateReachList({ bulkIdentifier: 'b'.repeat(257) }))).toBe(10002);
  });

  describe('sentAt', () => {
    it('is a UTC calendar day when given as YYYY-MM-DD', () => {
      expect(valueOf(validateReachList({ sentAt: '2024-02-29' })).sentOn).toEqual({
        from: new Date('2024-02-29T00:00:00Z'),
        until: new Date('2024-03-01T00:00:00Z'),
      });
    });

    it('is the calendar day of a date-time, in its own offset', () => {
      expect(valueOf(validateReachList({ sentAt: '2026-03-01T00:00:00Z' })).sentOn).toEqual({
        from: new Date('2026-03-01T00:00:00Z'),
        until: new Date('2026-03-02T00:00:00Z'),
      });
      expect(valueOf(validateReachList({ sentAt: '2026-03-01T23:59:59.999Z' })).sentOn?.from).toEqual(new Date('2026-03-01T00:00:00Z'));
      expect(valueOf(validateReachList({ sentAt: '2026-03-01T10:00:00+02:00' })).sentOn).toEqual({
        from: new Date('2026-02-28T22:00:00Z'),
        until: new Date('2026-03-01T22:00:00Z'),
      });
    });

    it.each(['2026-02-30', '2026-3-1', '01/03/2026', '2026-03-01T10:00:00', 'today', 20260301])('refuses %j (10002)', (sentAt) => {
      expect(errorOf(validateReachList({ sentAt }))).toMatchObject({ status: 400, errorCode: 10002, errorDetails: { param: 'sentAt' } });
    });
  });

  describe('sentAfter and sentBefore', () => {
    it('take a date as that day’s UTC midnight', () => {
      expect(valueOf(validateReachList({ sentAfter: '2026-03-01', sentBefore: '2026-03-02' }))).toMatchObject({
        sentAfter: new Date('2026-03-01T00:00:00Z'),
        sentBefore: new Date('2026-03-02T00:00:00Z'),
      });
    });

    it('accept contradictory bounds (they match nothing)', () => {
      expect(validateReachList({ sentAfter: '2026-03-02', sentBefore: '2026-03-01' }).ok).toBe(true);
    });

    it.each(['sentAfter', 'sentBefore'])('%s refuses a local time or garbage (10002)', (name) => {
      expect(errorOf(validateReachList({ [name]: '2026-03-01T10:00:00' }))).toMatchObject({ errorCode: 10002, errorDetails: { param: name } });
      expect(codeOf(validateReachList({ [name]: 'soon' }))).toBe(10002);
    });
  });

  describe('page (20007) and pageSize (20006)', () => {
    it.each([
      ['0', 0],
      [0, 0],
      ['7', 7],
      [1_000_000_000, 1_000_000_000],
    ])('accepts page %j', (page, value) => {
      expect(valueOf(validateReachList({ page })).page).toBe(value);
    });

    it.each(['-1', -1, '1.5', 1.5, 'abc', 'first', 1_000_000_001, ['1']])('refuses page %j', (page) => {
      expect(errorOf(validateReachList({ page }))).toMatchObject({ status: 400, errorCode: 20007, errorDetails: { param: 'page' } });
    });

    it.each([
      ['1', 1],
      [1000, 1000],
      ['20', 20],
    ])('accepts pageSize %j', (pageSize, value) => {
      expect(valueOf(validateReachList({ pageSize })).pageSize).toBe(value);
    });

    it.each(['0', 0, '1001', 1001, '-5', '2.5', 'all', ['20']])('refuses pageSize %j', (pageSize) => {
      expect(errorOf(validateReachList({ pageSize }))).toMatchObject({ status: 400, errorCode: 20006, errorDetails: { param: 'pageSize' } });
    });

    it('accepts pageSize iff it is an integer 1…1000', () => {
      fc.assert(
        fc.property(fc.integer({ min: -10, max: 2000 }), (n) => {
          expect(codeOf(validateReachList({ pageSize: String(n) }))).toBe(n >= 1 && n <= 1000 ? 'ok' : 20006);
        }),
      );
    });
  });
});

describe('validateMessageId', () => {
  const uuid = '2a583efc-0c41-47b5-a1fe-885fc7ec2720';

  it('returns a UUID as well formed', () => {
    expect(validateMessageId({ messageId: uuid })).toEqual({ ok: true, value: { messageId: uuid, wellFormed: true } });
    expect(valueOf(validateMessageId({ messageId: uuid.toUpperCase() })).wellFormed).toBe(true);
  });

  it.each(['MIDXXXXXXXXXXXX', `${uuid} `, '42'])('returns a malformed id %j for a lookup that finds nothing', (messageId) => {
    expect(validateMessageId({ messageId })).toEqual({ ok: true, value: { messageId, wellFormed: false } });
  });

  it('takes a JSON number as its text', () => {
    expect(valueOf(validateMessageId({ messageId: 42 }))).toEqual({ messageId: '42', wellFormed: false });
  });

  it.each([{}, { messageId: '' }, { messageId: null }])('refuses a missing messageId (10002): %j', (params) => {
    expect(errorOf(validateMessageId(params))).toEqual({
      status: 400,
      errorCode: 10002,
      errorMessage: 'Missing required parameter: messageId',
      errorDetails: { missingParams: ['messageId'] },
    });
  });

  it('refuses a repeated messageId (10002)', () => {
    expect(codeOf(validateMessageId({ messageId: [uuid, uuid] }))).toBe(10002);
  });
});

describe('validateReachUpdate', () => {
  const messageId = '2a583efc-0c41-47b5-a1fe-885fc7ec2720';

  it('accepts any text, including an empty one (redaction)', () => {
    expect(validateReachUpdate({ messageId, body: '' })).toEqual({ ok: true, value: { messageId, wellFormed: true, body: '' } });
    expect(valueOf(validateReachUpdate({ messageId, body: 'ж'.repeat(1600) })).body).toHaveLength(1600);
  });

  it('checks messageId first', () => {
    expect(errorOf(validateReachUpdate({ body: 'x' }))).toMatchObject({ errorCode: 10002, errorDetails: { missingParams: ['messageId'] } });
  });

  it('refuses a missing body (10002), a long one (20103) and an unencodable one (20107)', () => {
    expect(errorOf(validateReachUpdate({ messageId }))).toMatchObject({ errorCode: 10002, errorDetails: { missingParams: ['body'] } });
    expect(codeOf(validateReachUpdate({ messageId, body: 'a'.repeat(1601) }))).toBe(20103);
    expect(codeOf(validateReachUpdate({ messageId, body: 7 }))).toBe(20103);
    expect(codeOf(validateReachUpdate({ messageId, body: '\uD800' }))).toBe(20107);
  });
});
