import { requestIdOf } from './request-id';

describe('requestIdOf (X-Request-Id → correlation id)', () => {
  const generate = () => 'generated';

  it("keeps a usable client id, trimmed", () => {
    expect(requestIdOf('abc-123', generate)).toBe('abc-123');
    expect(requestIdOf('  spaced id  ', generate)).toBe('spaced id');
    expect(requestIdOf(['first', 'second'], generate)).toBe('first');
    expect(requestIdOf('x'.repeat(128), generate)).toBe('x'.repeat(128));
  });

  it('replaces a missing, empty, overlong or unprintable one', () => {
    for (const bad of [undefined, '', '   ', 'x'.repeat(129), 'bad\u0007bell', 'naïve', []]) {
      expect(requestIdOf(bad as string | string[] | undefined, generate)).toBe('generated');
    }
  });

  it('generates UUIDs by default', () => {
    expect(requestIdOf(undefined)).toMatch(/^[0-9a-f-]{36}$/);
  });
});
