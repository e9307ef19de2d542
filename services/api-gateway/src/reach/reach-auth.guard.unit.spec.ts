import { acceptsJson } from './reach-auth.guard';

describe('Accept header', () => {
  it.each(['application/json', '*/*', 'application/*', 'text/html, application/json;q=0.5', '', 'APPLICATION/JSON; charset=utf-8'])('allows JSON: %j', (h) => {
    expect(acceptsJson(h)).toBe(true);
  });

  it.each(['text/html', 'application/xml', 'application/json;q=0', 'text/*'])('rules JSON out: %j', (h) => {
    expect(acceptsJson(h)).toBe(false);
  });
});
