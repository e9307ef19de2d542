import { addLogFields, contextualLogFields, currentLogFields, isValidCorrelationId, runDetached, runWithLogFields } from './log-context';

describe('log context', () => {
  it('binds fields to async work started inside, timers included', async () => {
    const seen = await runWithLogFields({ correlationId: 'req-1', messageId: 'm-1' }, async () => {
      await Promise.resolve();
      return new Promise<unknown>((resolve) => setTimeout(() => resolve(currentLogFields()), 1));
    });
    expect(seen).toEqual({ correlationId: 'req-1', messageId: 'm-1' });
    expect(currentLogFields()).toBeUndefined();
  });

  it('lets work add fields that later lines of the same context carry', async () => {
    const fields = { correlationId: 'req-2' };
    await runWithLogFields(fields, async () => {
      addLogFields({ accountId: 'acct', messageId: undefined });
    });
    expect(fields).toEqual({ correlationId: 'req-2', accountId: 'acct' });
    addLogFields({ accountId: 'ignored outside a context' });
    expect(currentLogFields()).toBeUndefined();
  });

  it('gives the mixin the fields of the context, and no trace ids while tracing is off', () => {
    expect(contextualLogFields()).toEqual({});
    runWithLogFields({ messageId: 'm-3' }, () => expect(contextualLogFields()).toEqual({ messageId: 'm-3' }));
  });

  it('runs detached work outside any log context', () => {
    runWithLogFields({ messageId: 'm-4' }, () => runDetached(() => expect(currentLogFields()).toBeUndefined()));
  });

  it('accepts printable ASCII correlation ids of 1 to 128 characters', () => {
    for (const ok of ['a', 'req-42', 'a b', 'x'.repeat(128), '!~']) expect(isValidCorrelationId(ok)).toBe(true);
    for (const bad of ['', ' ', ' a', 'a ', 'x'.repeat(129), 'line\nbreak', 'tab\there', 'é', '\u0000', 42, null, undefined]) {
      expect(isValidCorrelationId(bad)).toBe(false);
    }
  });
});
