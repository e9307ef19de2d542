import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { Agent, buildConnector } from 'undici';
import { isForbiddenAddress } from './address-policy';
import { ForbiddenDestinationError } from './outbound-http.errors';

export interface ResolvedAddress {
  readonly address: string;
  readonly family: number;
}

/** Resolves a hostname to all its addresses, like `dns.lookup(hostname, { all: true })`. */
export type HostLookup = (hostname: string) => Promise<readonly ResolvedAddress[]>;

export interface SafeDispatcherOptions {
  /** Skip the address policy. Only for tests and trusted self-hosted setups (e.g. a local receiver). */
  readonly allowPrivate: boolean;
  /** TCP (and TLS) connect timeout. */
  readonly connectTimeoutMs: number;
  /** Defaults to the system resolver (`dns.lookup` with `all: true`). */
  readonly lookup?: HostLookup;
}

declare const safeDispatcherBrand: unique symbol;

/**
 * An undici Agent whose every connection went through `resolveDestination`. The brand makes
 * `deliver` refuse a plain Agent at compile time, so there is one way to send a webhook.
 */
export type SafeDispatcher = Agent & { readonly [safeDispatcherBrand]: true };

const systemLookup: HostLookup = (hostname) => dnsLookup(hostname, { all: true });

/**
 * The address to connect to for `hostname`. A literal IP is checked as is; a name is resolved
 * once and refused when ANY of its addresses is forbidden (a name that points at both a public
 * and a private address is as dangerous as one that points at the private one only). The caller
 * connects to the returned address, never to the name again, so a DNS answer that changes
 * between check and connect (rebinding) cannot smuggle a private address past the check.
 */
export async function resolveDestination(
  hostname: string,
  options: { readonly allowPrivate: boolean; readonly lookup?: HostLookup },
): Promise<ResolvedAddress> {
  const host = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  const literalFamily = isIP(host);
  const addresses: readonly ResolvedAddress[] =
    literalFamily !== 0 ? [{ address: host, family: literalFamily }] : await (options.lookup ?? systemLookup)(host);

  const first = addresses[0];
  if (first === undefined) {
    throw Object.assign(new Error(`${host} resolved to no address`), { code: 'ENOTFOUND', hostname: host });
  }
  if (!options.allowPrivate) {
    for (const { address } of addresses) {
      const reason = isForbiddenAddress(address);
      if (reason !== null) throw new ForbiddenDestinationError(host, address, reason);
    }
  }
  return first;
}

/**
 * The dispatcher webhook deliveries must use. Connections are made by a custom connector that
 * resolves and checks the destination first (see `resolveDestination`) and then connects to the
 * checked address; the original hostname stays in the Host header and, for https, in SNI and
 * certificate verification. Redirects are never followed (no redirect interceptor is composed).
 * The caller owns the Agent and closes it (`await dispatcher.close()`).
 */
export function createSafeDispatcher(options: SafeDispatcherOptions): SafeDispatcher {
  const connectToAddress = buildConnector({ timeout: options.connectTimeoutMs });
  const connect: buildConnector.connector = (connectOptions, callback) => {
    resolveDestination(connectOptions.hostname, options).then(
      ({ address }) => {
        connectToAddress({ ...connectOptions, hostname: address }, callback);
      },
      (error: unknown) => {
        callback(error instanceof Error ? error : new Error(String(error)), null);
      },
    );
  };
  return new Agent({ connect }) as SafeDispatcher;
}
