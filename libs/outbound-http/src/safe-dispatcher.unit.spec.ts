import { ForbiddenDestinationError } from './outbound-http.errors';
import { resolveDestination, type HostLookup, type ResolvedAddress } from './safe-dispatcher';

function fakeLookup(answers: Record<string, readonly ResolvedAddress[]>): HostLookup & { readonly calls: string[] } {
  const calls: string[] = [];
  const lookup = async (hostname: string) => {
    calls.push(hostname);
    return answers[hostname] ?? [];
  };
  return Object.assign(lookup, { calls });
}

const PUBLIC_V4 = { address: '93.184.216.34', family: 4 };
const PUBLIC_V6 = { address: '2606:4700::1111', family: 6 };

describe('resolveDestination', () => {
  it('returns the first resolved address when every address is allowed', async () => {
    const lookup = fakeLookup({ 'hooks.example.com': [PUBLIC_V6, PUBLIC_V4] });
    await expect(resolveDestination('hooks.example.com', { allowPrivate: false, lookup })).resolves.toEqual(PUBLIC_V6);
    expect(lookup.calls).toEqual(['hooks.example.com']);
  });

  it('refuses a name when any of its addresses is forbidden, naming host, address and reason', async () => {
    const lookup = fakeLookup({ 'mixed.test': [PUBLIC_V4, { address: '10.0.0.7', family: 4 }] });
    const refusal = resolveDestination('mixed.test', { allowPrivate: false, lookup });
    await expect(refusal).rejects.toBeInstanceOf(ForbiddenDestinationError);
    await expect(refusal).rejects.toMatchObject({
      code: 'FORBIDDEN_DESTINATION',
      host: 'mixed.test',
      address: '10.0.0.7',
      reason: 'private network (10.0.0.0/8)',
    });
  });

  it('refuses a name resolving to an IPv4-mapped loopback', async () => {
    const lookup = fakeLookup({ 'rebind.test': [{ address: '::ffff:127.0.0.1', family: 6 }] });
    await expect(resolveDestination('rebind.test', { allowPrivate: false, lookup })).rejects.toMatchObject({ address: '::ffff:127.0.0.1' });
  });

  it('checks literal IPs directly, without a lookup, brackets or not', async () => {
    const lookup = fakeLookup({});
    await expect(resolveDestination('127.0.0.1', { allowPrivate: false, lookup })).rejects.toMatchObject({ host: '127.0.0.1' });
    await expect(resolveDestination('[::1]', { allowPrivate: false, lookup })).rejects.toMatchObject({ host: '::1', address: '::1' });
    await expect(resolveDestination('93.184.216.34', { allowPrivate: false, lookup })).resolves.toEqual(PUBLIC_V4);
    await expect(resolveDestination('[2606:4700::1111]', { allowPrivate: false, lookup })).resolves.toEqual(PUBLIC_V6);
    expect(lookup.calls).toEqual([]);
  });

  it('skips the policy with allowPrivate but still returns the resolved address to connect to', async () => {
    const lookup = fakeLookup({ 'rebind.test': [{ address: '127.0.0.1', family: 4 }] });
    await expect(resolveDestination('rebind.test', { allowPrivate: true, lookup })).resolves.toEqual({ address: '127.0.0.1', family: 4 });
  });

  it('fails like ENOTFOUND when a name resolves to nothing', async () => {
    await expect(resolveDestination('nowhere.test', { allowPrivate: false, lookup: fakeLookup({}) })).rejects.toMatchObject({ code: 'ENOTFOUND' });
  });
});
