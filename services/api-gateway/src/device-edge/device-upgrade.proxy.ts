import type { IncomingMessage, Server } from 'node:http';
import { Socket, connect } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';

/** How one upgrade request on the edge ended; `proxied` includes answers the device gateway gives (a 401 for a bad token). */
export type DeviceUpgradeOutcome = 'proxied' | 'not-found' | 'no-owner' | 'owner-unreachable' | 'over-limit';

export interface DeviceUpgradeProxyOptions {
  /** The channel owner's device gateway (`http://host:port`), null while none is known. */
  readonly owner: () => string | null;
  /** Proxied connections open at once (connecting ones included); more are answered 503. */
  readonly maxConnections: number;
  /** Upgrade path devices use; default `/v1/device`. */
  readonly path?: string;
  /** Giving up on reaching the owner after this long answers 503. Default 5 s. */
  readonly connectTimeoutMs?: number;
  readonly logger: Logger;
  readonly onUpgrade?: (outcome: DeviceUpgradeOutcome) => void;
}

/** A half-closed socket whose peer never closes its side is destroyed after this long. */
const LINGER_MS = 5_000;
/** Refusals of one kind are logged at warn at most this often (a fleet reconnecting at once would flood the log). */
const WARN_INTERVAL_MS = 10_000;

/**
 * The public edge of the device channel: WebSocket upgrades on `/v1/device` are proxied, as raw
 * TCP, to the device gateway of the replica that owns the channels (wherever the device landed).
 * The request line and headers go on unchanged (Authorization included: the gateway checks the
 * token), plus X-Forwarded-For; then bytes flow both ways untouched. The edge does not speak the
 * device protocol: idle connections, heartbeats and the offline rule are the gateway's business.
 * Refusals (`503` + `Retry-After: 1`: no owner known, owner unreachable, too many connections)
 * come before the upgrade, and the device retries with backoff.
 */
export class DeviceUpgradeProxy {
  private readonly open = new Set<Duplex>();
  private readonly path: string;
  private readonly connectTimeoutMs: number;
  private readonly lastWarnAt = new Map<DeviceUpgradeOutcome, number>();
  private server: Server | null = null;
  private readonly onServerUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => this.handleUpgrade(request, socket, head);

  constructor(private readonly options: DeviceUpgradeProxyOptions) {
    if (!(options.maxConnections >= 1)) throw new RangeError('maxConnections must be at least 1');
    this.path = options.path ?? '/v1/device';
    this.connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
  }

  /** Takes over the server's upgrade requests: `/v1/device` is proxied, any other path answered 404. */
  attach(server: Server): void {
    if (this.server) throw new Error('device upgrade proxy already attached');
    this.server = server;
    server.on('upgrade', this.onServerUpgrade);
  }

  /** Stops taking upgrades; connections already proxied stay open (see `closeAll`). */
  detach(): void {
    this.server?.off('upgrade', this.onServerUpgrade);
    this.server = null;
  }

  /** Proxied connections open now (connecting ones included). */
  get activeConnections(): number {
    return this.open.size;
  }

  /** Cuts every proxied connection (shutdown: the devices reconnect, through another replica). */
  closeAll(): void {
    for (const socket of this.open) socket.destroy();
  }

  handleUpgrade(request: IncomingMessage, client: Duplex, head: Buffer): void {
    // No bytes may be read from the device before the owner's socket is there to take them.
    client.pause();
    client.on('error', (error) => this.options.logger.debug({ err: error }, 'device socket error'));
    if (pathOf(request.url) !== this.path) {
      this.refuse(client, 'not-found', '404 Not Found');
      return;
    }
    if (this.open.size >= this.options.maxConnections) {
      this.refuse(client, 'over-limit', '503 Service Unavailable', { maxConnections: this.options.maxConnections });
      return;
    }
    const owner = parseOwner(this.options.owner());
    if (owner === null) {
      this.refuse(client, 'no-owner', '503 Service Unavailable');
      return;
    }
    this.proxy(request, client, head, owner);
  }

  private proxy(request: IncomingMessage, client: Duplex, head: Buffer, owner: { readonly host: string; readonly port: number }): void {
    this.open.add(client);
    client.once('close', () => this.open.delete(client));
    if (client instanceof Socket) {
      client.setTimeout(0);
      client.setNoDelay(true);
    }
    const upstream = connect({ host: owner.host, port: owner.port });
    let connected = false;
    upstream.setTimeout(this.connectTimeoutMs, () => upstream.destroy(new Error(`no connection to ${owner.host}:${owner.port} within ${this.connectTimeoutMs} ms`)));
    upstream.once('connect', () => {
      connected = true;
      upstream.setTimeout(0);
      upstream.setNoDelay(true);
      // A vanished owner (node lost, no RST) is noticed by TCP keep-alive, not only by the device's heartbeats.
      upstream.setKeepAlive(true, 30_000);
      upstream.write(forwardedRequestHead(request, request.socket.remoteAddress));
      if (head.length > 0) upstream.write(head);
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
      this.options.onUpgrade?.('proxied');
    });
    upstream.on('error', (error) => {
      if (connected) {
        this.options.logger.debug({ err: error }, 'device gateway socket error');
        return;
      }
      this.refuse(client, 'owner-unreachable', '503 Service Unavailable', { owner: `${owner.host}:${owner.port}`, err: error });
    });
    upstream.once('close', (hadError) => {
      if (connected) closeAfter(client, hadError);
    });
    client.once('close', () => {
      if (connected) closeAfter(upstream, client.errored !== null);
      else upstream.destroy();
    });
  }

  /** Answers before any upgrade (so the device sees an HTTP status) and closes. */
  private refuse(client: Duplex, outcome: Exclude<DeviceUpgradeOutcome, 'proxied'>, status: string, detail: Record<string, unknown> = {}): void {
    this.options.onUpgrade?.(outcome);
    this.logRefusal(outcome, detail);
    if (client.destroyed) return;
    const retry = outcome === 'not-found' ? '' : 'Retry-After: 1\r\n';
    client.end(`HTTP/1.1 ${status}\r\n${retry}Connection: close\r\nContent-Length: 0\r\n\r\n`);
    // Read (and drop) until the device closes its side, so the socket is released at once.
    client.resume();
    lingerThenDestroy(client);
  }

  private logRefusal(outcome: Exclude<DeviceUpgradeOutcome, 'proxied'>, detail: Record<string, unknown>): void {
    const message = `device upgrade refused: ${outcome}`;
    if (outcome === 'not-found') {
      this.options.logger.debug(detail, message);
      return;
    }
    const now = Date.now();
    if (now - (this.lastWarnAt.get(outcome) ?? 0) < WARN_INTERVAL_MS) {
      this.options.logger.debug(detail, message);
      return;
    }
    this.lastWarnAt.set(outcome, now);
    this.options.logger.warn(detail, message);
  }
}

/**
 * The upgrade request as the owner's gateway gets it: request line and headers as received (their
 * order and case kept), any X-Forwarded-For folded into one with the device's address appended.
 * Header values cannot carry CR/LF (Node's parser refuses such requests), so nothing is injected.
 */
export function forwardedRequestHead(request: Pick<IncomingMessage, 'method' | 'url' | 'httpVersion' | 'rawHeaders'>, remoteAddress: string | undefined): string {
  const lines = [`${request.method ?? 'GET'} ${request.url ?? '/'} HTTP/${request.httpVersion}`];
  const forwardedFor: string[] = [];
  const raw = request.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    if (name.toLowerCase() === 'x-forwarded-for') forwardedFor.push(value);
    else lines.push(`${name}: ${value}`);
  }
  if (remoteAddress) forwardedFor.push(remoteAddress);
  if (forwardedFor.length > 0) lines.push(`X-Forwarded-For: ${forwardedFor.join(', ')}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

function pathOf(url: string | undefined): string | null {
  try {
    return new URL(url ?? '/', 'http://edge').pathname;
  } catch {
    return null;
  }
}

/** Host and port of an `http://` owner URL; null when there is none (or it is unusable). */
function parseOwner(url: string | null): { readonly host: string; readonly port: number } | null {
  if (url === null) return null;
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:') return null;
    // URL keeps IPv6 literals bracketed; net.connect wants them bare.
    return { host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'), port: parsed.port === '' ? 80 : Number(parsed.port) };
  } catch {
    return null;
  }
}

/**
 * The other side closed: a clean close ends this one after what is buffered was written (a last
 * frame, a close frame, the gateway's 401); an error cuts it at once.
 */
function closeAfter(socket: Duplex, hadError: boolean): void {
  if (hadError) {
    socket.destroy();
    return;
  }
  if (!socket.writableEnded) socket.end();
  lingerThenDestroy(socket);
}

function lingerThenDestroy(socket: Duplex): void {
  if (socket.destroyed) return;
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}
