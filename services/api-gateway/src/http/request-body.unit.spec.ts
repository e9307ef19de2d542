import { isReachPath, parseFormBody } from './request-body';

describe('form-encoded bodies', () => {
  it('decodes what curl --data-urlencode sends', () => {
    const text = 'dest=%2B237671234567&src=%2B237691234567&body=Hello%20World%21%20This%20is%20a%20sms%20message.&scheduledTime=2016-08-31T01%3A23%3A45Z';
    expect(parseFormBody(text)).toEqual({
      dest: '+237671234567',
      src: '+237691234567',
      body: 'Hello World! This is a sms message.',
      scheduledTime: '2016-08-31T01:23:45Z',
    });
  });

  it('reads + as a space, keeps empty values and UTF-8', () => {
    expect(parseFormBody('body=caf%C3%A9+%E2%82%AC&messageId=&x')).toEqual({ body: 'café €', messageId: '', x: '' });
  });

  it('gives a repeated parameter as an array, so validation can refuse it', () => {
    expect(parseFormBody('dest=1&dest=2&src=a')).toEqual({ dest: ['1', '2'], src: 'a' });
  });

  it('keeps __proto__ as an ordinary own parameter', () => {
    const params = parseFormBody('__proto__=x&body=hi');
    expect(Object.getPrototypeOf(params)).toBe(Object.prototype);
    expect(Object.hasOwn(params, '__proto__')).toBe(true);
    expect(params['body']).toBe('hi');
  });

  it('parses an empty body as no parameters', () => {
    expect(parseFormBody('')).toEqual({});
  });

  it('tells Reach routes by their prefix', () => {
    expect(isReachPath('/rest/messaging/v1/create')).toBe(true);
    expect(isReachPath('/v1/sms/send')).toBe(false);
    expect(isReachPath('/restx')).toBe(false);
  });
});
