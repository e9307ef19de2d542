import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { DeviceFrameNotRecordedError, DeviceFrameRefusedError, DeviceGatewayClosedError } from './device-gateway.errors';
import {
  parseDeviceFrame,
  reportKey,
  serializeFrame,
  type DeviceFrame,
  type HelloFrame,
  type InboundFrame,
  type ReportFrame,
  type ReportStep,
  type SendFrame,
  type Sim,
} from './device-protocol';
import { SendPacer } from './send-pacer';

/** What the token lookup knows about a device. */
export interface DeviceIdentity {
  readonly deviceId: string;
  readonly accountId: string;
  /** Numbers bound to the device (`reachctl device bind`). */
  readonly numbers: readonly string[];
  /** Configured pacing; the gateway default (30) when absent. */
  readonly sendsPerMinute?: number;
}

/**
 * Resolves a presented device token to its device, or null. Implementations MUST look the device
 * up by `hashDeviceToken(token)` (tokens are stored only as SHA-256 hashes) and compare hashes
 * with `deviceTokenHashesEqual` (constant time) — never the plain token, never `===`.
 */
export type DeviceTokenLookup = (token: string) => Promise<DeviceIdentity | null>;

/** A send command as the dispatcher hands it over; `commandId` makes `sendCommand` idempotent. */
export type DeviceSendCommand = Omit<SendFrame, 'v' | 'type'>;

export type DeviceOfflineReason = 'closed' | 'heartbeat-timeout' | 'replaced' | 'gateway-closed' | 'revoked';

export interface DeviceReport {
  readonly deviceId: string;
  readonly accountId: string;
  readonly commandId: string;
  readonly messageId: string;
  readonly step: ReportStep;
  readonly at: string;
  /** Only for `failed`. */
  readonly reason?: string;
  readonly detail?: string;
}

export interface DeviceInboundSms {
  readonly deviceId: string;
  readonly accountId: string;
  readonly inboundId: string;
  readonly from: string;
  readonly to?: string;
  readonly sim?: number;
  readonly body: string;
  readonly receivedAt: string;
}

export type DeviceGatewayEvents = {
  online: [{ readonly deviceId: string; readonly accountId: string; readonly sims: readonly Sim[]; readonly sendsPerMinute: number }];
  offline: [{ readonly deviceId: string; readonly reason: DeviceOfflineReason }];
  /**
   * The send frame was written to a connected, greeted device. `attempt` 1 is the first write;
   * `queuedMs`: time from `sendCommand` to this write.
   */
  dispatched: [{ readonly deviceId: string; readonly commandId: string; readonly messageId: string; readonly attempt: number; readonly queuedMs: number }];
  /** A report `onReport` recorded (once per messageId + step); duplicates are acked but not emitted. */
  report: [DeviceReport];
  /** An inbound SMS `onInbound` recorded (once per inbound id); duplicates are acked but not emitted. */
  inbound: [DeviceInboundSms];
};

export interface DeviceGatewayOptions {
  readonly lookup: DeviceTokenLookup;
  /** Attach to this server's `upgrade` (requests on other paths are left to other handlers)… */
  readonly server?: Server;
  /** …or listen on its own (port 0 = ephemeral). */
  readonly port?: number;
  readonly host?: string;
  /** Upgrade path, default `/v1/device`. */
  readonly path?: string;
  readonly heartbeatIntervalMs?: number;
  /** Silence longer than this (no frame at all) marks the device offline; default 3 × interval. */
  readonly heartbeatTimeoutMs?: number;
  readonly defaultSendsPerMinute?: number;
  /** The pacing window (default 60 000 ms); `sendsPerMinute` sends are allowed per window. */
  readonly pacingWindowMs?: number;
  /** Remembered report / inbound keys per device for dedupe (oldest forgotten first). */
  readonly dedupeMemory?: number;
  /**
   * Records a report durably. The report is acked only once the promise resolves; on rejection it
   * is not (the device repeats it after its next `welcome`), except for `DeviceFrameRefusedError`
   * (acked with an `error` frame: it can never be recorded). Reports of one message are handed
   * over one at a time, in the order they arrived. Default: resolves at once.
   */
  readonly onReport?: (report: DeviceReport) => Promise<void>;
  /** Records an inbound SMS durably; acked under the same rules as `onReport`. */
  readonly onInbound?: (sms: DeviceInboundSms) => Promise<void>;
  readonly logger?: Logger;
}

/** How handling a report or inbound frame ended, and so what the device is answered. */
type Verdict =
  /** Recorded: acked, remembered for dedupe. */
  | { readonly kind: 'recorded' }
  /** Can never be recorded: acked with an error frame, remembered. */
  | { readonly kind: 'refused'; readonly message: string }
  /** Not recorded now: an error frame, no ack; the device repeats it after its next welcome. */
  | { readonly kind: 'not-recorded'; readonly message: string }
  /** Not tried: an earlier report of the same message on this connection was not recorded. */
  | { readonly kind: 'skipped' };

interface PendingCommand {
  readonly command: DeviceSendCommand;
  /** `written`: on the current connection, awaiting `accepted`; `waiting`: to be (re-)sent. */
  state: 'waiting' | 'written';
  attempts: number;
  /** When `sendCommand` queued it (epoch ms). */
  readonly queuedAt: number;
}

interface DeviceState {
  readonly deviceId: string;
  identity?: DeviceIdentity;
  socket?: WebSocket;
  greeted: boolean;
  pacer?: SendPacer;
  /** The handset's own limit from its last `hello` (`maxSendsPerMinute`). */
  handsetSendsPerMinute?: number;
  pumpTimer?: NodeJS.Timeout;
  /** In order; an entry leaves the queue at the first report for its message (the device owns it then). */
  readonly queue: PendingCommand[];
  /** Commands the device reported on, or cancelled: never (re-)sent, `sendCommand` with them is a no-op. */
  readonly settled: Set<string>;
  /** Report / inbound keys recorded (or refused): a repeat is acked without handling it again. */
  readonly seenReports: Set<string>;
  readonly seenInbound: Set<string>;
  /** Report / inbound frames being handled, by key: a repeat arriving meanwhile is answered with the same verdict. */
  readonly handling: Map<string, Promise<Verdict>>;
  /**
   * The last report of each message still being handled, or not recorded on a connection still
   * open: the next report of the message waits for it (and is skipped after a failure on the
   * same connection).
   */
  readonly reportChains: Map<string, ReportLink>;
}

interface ReportLink {
  readonly socket: WebSocket;
  readonly verdict: Promise<Verdict>;
  /** Settled as not recorded (or skipped). */
  failed: boolean;
}

interface Connection {
  readonly socket: WebSocket;
  readonly identity: DeviceIdentity;
  lastSeen: number;
  lastHeartbeatSent: number;
  timer?: NodeJS.Timeout;
  offlineReason?: DeviceOfflineReason;
}

/**
 * The device channel's WebSocket edge (docs/device-protocol.md). State is in memory only: the
 * per-device queues, settled commands and dedupe keys are lost on restart. That is acceptable
 * because the owner (the dispatcher's device channel) keeps a durable backlog and re-issues
 * unsettled commands (`sendCommand` is idempotent by commandId), and because a report or inbound
 * SMS is acked only after `onReport` / `onInbound` recorded it durably: the device keeps
 * everything unacked and repeats it to whichever process it reaches next.
 */
export class DeviceGatewayServer extends EventEmitter<DeviceGatewayEvents> {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  private readonly devices = new Map<string, DeviceState>();
  private readonly path: string;
  private readonly heartbeatIntervalMs: number;
  private readonly heartbeatTimeoutMs: number;
  private readonly defaultSendsPerMinute: number;
  private readonly pacingWindowMs: number;
  private readonly dedupeMemory: number;
  private readonly reportHandler: (report: DeviceReport) => Promise<void>;
  private readonly inboundHandler: (sms: DeviceInboundSms) => Promise<void>;
  private closed = false;
  private readonly onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => this.handleUpgrade(request, socket, head);

  private constructor(
    private readonly options: DeviceGatewayOptions,
    private readonly http: Server,
    private readonly ownsHttp: boolean,
  ) {
    super();
    this.path = options.path ?? '/v1/device';
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? 15_000;
    this.heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? 3 * this.heartbeatIntervalMs;
    this.defaultSendsPerMinute = options.defaultSendsPerMinute ?? 30;
    this.pacingWindowMs = options.pacingWindowMs ?? 60_000;
    this.dedupeMemory = options.dedupeMemory ?? 10_000;
    this.reportHandler = options.onReport ?? (() => Promise.resolve());
    this.inboundHandler = options.onInbound ?? (() => Promise.resolve());
    http.on('upgrade', this.onUpgrade);
  }

  /** Attaches to `options.server`, or listens on `options.port` / `options.host`. */
  static async start(options: DeviceGatewayOptions): Promise<DeviceGatewayServer> {
    if (options.server) return new DeviceGatewayServer(options, options.server, false);
    const http = createServer((_request, response) => {
      response.writeHead(426, { 'content-type': 'text/plain' }).end('WebSocket upgrade required');
    });
    const gateway = new DeviceGatewayServer(options, http, true);
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
        http.off('error', reject);
        resolve();
      });
    });
    return gateway;
  }

  get port(): number {
    return (this.http.address() as AddressInfo).port;
  }

  /** The WebSocket URL devices connect to (for a gateway that listens on its own). */
  get url(): string {
    const address = this.http.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `ws://${host}:${address.port}${this.path}`;
  }

  /**
   * Queues a send for the device, in order. Delivered now when the device is online (and pacing
   * allows), else on its next connection. Idempotent by commandId: a command already queued is
   * left where it is; one already reported on (or cancelled) is ignored. Returns whether the
   * command is pending (queued now or before), false when it was settled already.
   */
  sendCommand(deviceId: string, command: DeviceSendCommand): boolean {
    if (this.closed) throw new DeviceGatewayClosedError();
    const state = this.device(deviceId);
    if (state.settled.has(command.commandId)) return false;
    if (state.queue.some((pending) => pending.command.commandId === command.commandId)) return true;
    state.queue.push({ command, state: 'waiting', attempts: 0, queuedAt: Date.now() });
    this.pump(state);
    return true;
  }

  /**
   * Withdraws a command the device has not reported on (waiting, or written but not `accepted`):
   * true when it was withdrawn — it is never (re-)sent, and `sendCommand` with its id is a no-op.
   * A command already written may still reach the device and be carried out; its reports are
   * handled as any other. False when the device reported on it already (or it is unknown).
   */
  cancelCommand(deviceId: string, commandId: string): boolean {
    const state = this.devices.get(deviceId);
    const index = state?.queue.findIndex((pending) => pending.command.commandId === commandId) ?? -1;
    if (!state || index < 0) return false;
    state.queue.splice(index, 1);
    remember(state.settled, commandId, this.dedupeMemory);
    return true;
  }

  /**
   * Where a command stands here: `pending` (queued or written, not reported on), `settled` (the
   * device reported on it, or it was cancelled), `unknown` (never handed over to this gateway).
   */
  commandStatus(deviceId: string, commandId: string): 'pending' | 'settled' | 'unknown' {
    const state = this.devices.get(deviceId);
    if (!state) return 'unknown';
    if (state.settled.has(commandId)) return 'settled';
    return state.queue.some((pending) => pending.command.commandId === commandId) ? 'pending' : 'unknown';
  }

  isOnline(deviceId: string): boolean {
    const state = this.devices.get(deviceId);
    return state?.greeted === true && state.socket?.readyState === WebSocket.OPEN;
  }

  /**
   * Whether a command handed over now is written at once: the device is online, no command of it
   * waits, and pacing has room.
   */
  canSendNow(deviceId: string): boolean {
    const state = this.devices.get(deviceId);
    if (!state?.pacer || state.pumpTimer || !this.isOnline(deviceId)) return false;
    if (state.queue.some((pending) => pending.state === 'waiting')) return false;
    return state.pacer.wait(Date.now()) === 0;
  }

  /**
   * When (epoch ms) pacing next has room on an online device: a lower bound for `canSendNow`
   * turning true (commands waiting ahead take slots first; ask again then). Null when offline.
   */
  nextSendAt(deviceId: string): number | null {
    const state = this.devices.get(deviceId);
    if (!state || !this.isOnline(deviceId)) return null;
    const now = Date.now();
    return now + (state.pacer?.wait(now) ?? 0);
  }

  /**
   * The device's configured pace (`reachctl device pace`): applied at once, counting the sends
   * already in the window, and capped by the handset's own limit. True when the pace in force
   * changed; a device that never connected here reads its pace at its first connection.
   */
  setSendsPerMinute(deviceId: string, sendsPerMinute: number): boolean {
    const state = this.devices.get(deviceId);
    if (!state?.identity || !state.pacer || state.identity.sendsPerMinute === sendsPerMinute) return false;
    state.identity = { ...state.identity, sendsPerMinute };
    const effective = Math.min(sendsPerMinute, state.handsetSendsPerMinute ?? sendsPerMinute);
    if (state.pacer.limit === effective) return false;
    state.pacer.limit = effective;
    if (state.pumpTimer) clearTimeout(state.pumpTimer);
    state.pumpTimer = undefined;
    this.pump(state);
    return true;
  }

  /** The ids of the devices online now. */
  onlineDeviceIds(): string[] {
    return [...this.devices.keys()].filter((deviceId) => this.isOnline(deviceId));
  }

  /**
   * Closes a device's connection because its token was revoked (close code 4001): it goes
   * offline now, and its next connection is refused by the token lookup. Its queued commands stay
   * (they wait, or fail at their validity's end). False when it was not connected.
   */
  revoke(deviceId: string): boolean {
    const state = this.devices.get(deviceId);
    const socket = state?.socket;
    if (!state || !socket) return false;
    const connection = this.connections.get(socket);
    if (connection) {
      connection.offlineReason = 'revoked';
      this.onClose(connection);
    }
    socket.close(4001, 'device revoked');
    return true;
  }

  /** Devices online (greeted, socket open). */
  get onlineCount(): number {
    let count = 0;
    for (const deviceId of this.devices.keys()) if (this.isOnline(deviceId)) count += 1;
    return count;
  }

  /** Commands not yet reported on by the device (written or waiting). */
  pendingCount(deviceId: string): number {
    return this.devices.get(deviceId)?.queue.length ?? 0;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.http.off('upgrade', this.onUpgrade);
    for (const state of this.devices.values()) {
      if (state.pumpTimer) clearTimeout(state.pumpTimer);
      state.pumpTimer = undefined;
      const socket = state.socket;
      if (socket) {
        this.connectionOf(socket).offlineReason = 'gateway-closed';
        socket.terminate();
      }
    }
    // Sockets that never said hello are not in `devices`; ws waits for every client before closing.
    for (const socket of this.wss.clients) socket.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    if (this.ownsHttp) {
      this.http.closeAllConnections();
      await new Promise<void>((resolve) => this.http.close(() => resolve()));
    }
  }

  // ---- connection lifecycle -------------------------------------------------------------------

  private readonly connections = new WeakMap<WebSocket, Connection>();

  private connectionOf(socket: WebSocket): Connection {
    const connection = this.connections.get(socket);
    if (!connection) throw new Error('socket without connection state');
    return connection;
  }

  private handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const pathname = new URL(request.url ?? '/', 'http://device').pathname;
    if (pathname !== this.path) {
      if (this.ownsHttp) reject(socket, 404, 'Not Found');
      return;
    }
    const match = /^Bearer ([^\s]+)$/.exec(request.headers.authorization ?? '');
    if (!match?.[1] || this.closed) {
      reject(socket, 401, 'Unauthorized');
      return;
    }
    this.options.lookup(match[1]).then(
      (identity) => {
        if (!identity || this.closed) {
          reject(socket, 401, 'Unauthorized');
          return;
        }
        this.wss.handleUpgrade(request, socket, head, (ws) => this.accept(ws, identity));
      },
      (error: unknown) => {
        this.options.logger?.error({ err: error }, 'device token lookup failed');
        reject(socket, 503, 'Service Unavailable');
      },
    );
  }

  private accept(socket: WebSocket, identity: DeviceIdentity): void {
    const connection: Connection = { socket, identity, lastSeen: Date.now(), lastHeartbeatSent: 0 };
    this.connections.set(socket, connection);
    // Until hello, the same silence rule applies: a socket that never greets is closed.
    connection.timer = setInterval(() => this.tick(connection), Math.max(10, Math.min(this.heartbeatIntervalMs, this.heartbeatTimeoutMs / 3)));
    socket.on('message', (data: RawData, isBinary: boolean) => this.onMessage(connection, data, isBinary));
    socket.on('error', (error) => this.options.logger?.warn({ err: error, deviceId: identity.deviceId }, 'device socket error'));
    socket.on('close', () => this.onClose(connection));
  }

  private tick(connection: Connection): void {
    const now = Date.now();
    if (now - connection.lastSeen > this.heartbeatTimeoutMs) {
      connection.offlineReason = 'heartbeat-timeout';
      connection.socket.terminate();
      return;
    }
    const state = this.devices.get(connection.identity.deviceId);
    if (state?.socket !== connection.socket || !state.greeted) return;
    if (now - connection.lastHeartbeatSent >= this.heartbeatIntervalMs) {
      connection.lastHeartbeatSent = now;
      this.write(connection.socket, serializeFrame({ type: 'heartbeat', at: new Date(now).toISOString() }));
    }
  }

  private onClose(connection: Connection): void {
    if (connection.timer) clearInterval(connection.timer);
    const state = this.devices.get(connection.identity.deviceId);
    if (!state || state.socket !== connection.socket) return;
    const wasOnline = state.greeted;
    state.socket = undefined;
    state.greeted = false;
    if (state.pumpTimer) clearTimeout(state.pumpTimer);
    state.pumpTimer = undefined;
    // Written but not accepted: the device may never have seen them; re-sent, in order, on reconnect.
    for (const pending of state.queue) pending.state = 'waiting';
    // The device repeats unacked reports on its next connection, where they are tried again.
    for (const [messageId, link] of state.reportChains) if (link.failed && link.socket === connection.socket) state.reportChains.delete(messageId);
    if (wasOnline) this.emit('offline', { deviceId: state.deviceId, reason: connection.offlineReason ?? 'closed' });
  }

  private onMessage(connection: Connection, data: RawData, isBinary: boolean): void {
    connection.lastSeen = Date.now();
    if (isBinary) {
      this.sendError(connection.socket, 'DEVICE_FRAME_BINARY', 'Frames are JSON text', false);
      return;
    }
    const parsed = parseDeviceFrame(rawText(data));
    if (!parsed.ok) {
      this.sendError(connection.socket, parsed.error.code, parsed.error.message, false);
      return;
    }
    const frame: DeviceFrame = parsed.frame;
    const state = this.devices.get(connection.identity.deviceId);
    const current = state?.socket === connection.socket && state.greeted;
    if (frame.type === 'hello') {
      this.onHello(connection, frame);
      return;
    }
    if (!current || !state) {
      this.sendError(connection.socket, 'DEVICE_HELLO_REQUIRED', 'Send hello first', false);
      return;
    }
    switch (frame.type) {
      case 'heartbeat':
        return;
      case 'accepted':
      case 'sent':
      case 'delivered':
      case 'failed':
        this.onReport(state, connection, frame);
        return;
      case 'inbound':
        this.onInbound(state, connection, frame);
        return;
      default: {
        const unreachable: never = frame;
        throw new Error(`unhandled frame ${JSON.stringify(unreachable)}`);
      }
    }
  }

  private onHello(connection: Connection, hello: HelloFrame): void {
    const { identity, socket } = connection;
    const state = this.device(identity.deviceId);
    if (state.socket === socket && state.greeted) {
      this.sendError(socket, 'DEVICE_HELLO_REPEATED', 'hello was already received on this connection', false);
      return;
    }
    const previous = state.socket;
    if (previous && previous !== socket) {
      // The newer connection wins (a phone that reconnected before the old socket timed out).
      const old = this.connections.get(previous);
      if (old) old.offlineReason = 'replaced';
      this.onClose(old ?? connection);
      previous.close(4000, 'replaced by a newer connection');
    }
    state.identity = identity;
    state.socket = socket;
    state.greeted = true;
    state.handsetSendsPerMinute = hello.maxSendsPerMinute;
    const sendsPerMinute = Math.min(identity.sendsPerMinute ?? this.defaultSendsPerMinute, hello.maxSendsPerMinute);
    // Kept across reconnects, so reconnecting does not reset the window.
    if (!state.pacer) state.pacer = new SendPacer(sendsPerMinute, this.pacingWindowMs);
    else state.pacer.limit = sendsPerMinute;
    this.write(
      socket,
      serializeFrame({ type: 'welcome', deviceId: identity.deviceId, heartbeatIntervalMs: this.heartbeatIntervalMs, heartbeatTimeoutMs: this.heartbeatTimeoutMs, sendsPerMinute }),
    );
    // The queue is written (as far as pacing allows) before `online` is heard, so a listener that
    // asks `canSendNow` sees the commands that were waiting for this connection go first.
    this.pump(state);
    this.emit('online', { deviceId: identity.deviceId, accountId: identity.accountId, sims: hello.sims, sendsPerMinute });
  }

  /**
   * Reports are acked only after `onReport` recorded them. Any report settles its command at
   * once (the device holds it: never re-sent, in particular not after `sent`), recorded or not.
   */
  private onReport(state: DeviceState, connection: Connection, frame: ReportFrame): void {
    this.settle(state, frame.commandId);
    const { socket } = connection;
    const key = reportKey(frame.messageId, frame.type);
    const ack = serializeFrame({ type: 'ack', of: 'report', messageId: frame.messageId, step: frame.type });
    const label = `${frame.type} report for ${frame.messageId}`;
    if (state.seenReports.has(key)) {
      // The device repeats a report until it sees the ack: ack it again.
      this.write(socket, ack);
      return;
    }
    const handlingKey = `report\u0000${key}`;
    const running = state.handling.get(handlingKey);
    if (running) {
      void running.then((verdict) => this.answer(socket, verdict, ack, label, false));
      return;
    }
    const report: DeviceReport = {
      deviceId: state.deviceId,
      accountId: connection.identity.accountId,
      commandId: frame.commandId,
      messageId: frame.messageId,
      step: frame.type,
      at: frame.at,
      ...(frame.type === 'failed' ? { reason: frame.reason, ...(frame.detail !== undefined ? { detail: frame.detail } : {}) } : {}),
    };
    // Reports of one message are handled in arrival order. After one that was not recorded, the
    // later ones of this connection are not tried: the device repeats them all, in order, later.
    const previous = state.reportChains.get(frame.messageId);
    const verdict = (async (): Promise<Verdict> => {
      if (previous) {
        const before = await previous.verdict;
        if ((before.kind === 'not-recorded' || before.kind === 'skipped') && previous.socket === socket) return { kind: 'skipped' };
      }
      return this.handle(() => this.reportHandler(report), state.deviceId, label);
    })();
    const link: ReportLink = { socket, verdict, failed: false };
    state.reportChains.set(frame.messageId, link);
    state.handling.set(handlingKey, verdict);
    void verdict
      .then((outcome) => {
        state.handling.delete(handlingKey);
        const done = outcome.kind === 'recorded' || outcome.kind === 'refused';
        // A failure stays linked while its connection is open: later reports of the message on it are skipped.
        if (!done && socket.readyState === WebSocket.OPEN) link.failed = true;
        else if (state.reportChains.get(frame.messageId) === link) state.reportChains.delete(frame.messageId);
        if (done) remember(state.seenReports, key, this.dedupeMemory);
        this.answer(socket, outcome, ack, label, true);
        if (outcome.kind === 'recorded') this.emit('report', report);
      })
      .catch((error: unknown) => this.options.logger?.error({ err: error, deviceId: state.deviceId }, 'report listener failed'));
  }

  /** Inbound SMS are acked only after `onInbound` recorded them; each is handled on its own. */
  private onInbound(state: DeviceState, connection: Connection, frame: InboundFrame): void {
    const { socket } = connection;
    const ack = serializeFrame({ type: 'ack', of: 'inbound', inboundId: frame.inboundId });
    const label = `inbound ${frame.inboundId}`;
    if (state.seenInbound.has(frame.inboundId)) {
      this.write(socket, ack);
      return;
    }
    const handlingKey = `inbound\u0000${frame.inboundId}`;
    const running = state.handling.get(handlingKey);
    if (running) {
      void running.then((verdict) => this.answer(socket, verdict, ack, label, false));
      return;
    }
    const sms: DeviceInboundSms = {
      deviceId: state.deviceId,
      accountId: connection.identity.accountId,
      inboundId: frame.inboundId,
      from: frame.from,
      body: frame.body,
      receivedAt: frame.receivedAt,
      ...(frame.to !== undefined ? { to: frame.to } : {}),
      ...(frame.sim !== undefined ? { sim: frame.sim } : {}),
    };
    const verdict = this.handle(() => this.inboundHandler(sms), state.deviceId, label);
    state.handling.set(handlingKey, verdict);
    void verdict
      .then((outcome) => {
        state.handling.delete(handlingKey);
        if (outcome.kind === 'recorded' || outcome.kind === 'refused') remember(state.seenInbound, frame.inboundId, this.dedupeMemory);
        this.answer(socket, outcome, ack, label, true);
        if (outcome.kind === 'recorded') this.emit('inbound', sms);
      })
      .catch((error: unknown) => this.options.logger?.error({ err: error, deviceId: state.deviceId }, 'inbound listener failed'));
  }

  /** Runs a report / inbound handler; never rejects. */
  private async handle(record: () => Promise<void>, deviceId: string, label: string): Promise<Verdict> {
    try {
      await record();
      return { kind: 'recorded' };
    } catch (error) {
      if (error instanceof DeviceFrameRefusedError) {
        this.options.logger?.warn({ err: error, deviceId, frame: label }, 'device frame refused; acknowledged so the device drops it');
        return { kind: 'refused', message: `${label}: ${error.message}` };
      }
      if (error instanceof DeviceFrameNotRecordedError) {
        this.options.logger?.warn({ err: error, deviceId, frame: label }, 'device frame not recorded; the device repeats it');
        return { kind: 'not-recorded', message: `${label}: ${error.message}` };
      }
      this.options.logger?.error({ err: error, deviceId, frame: label }, 'device frame could not be recorded; the device repeats it');
      return { kind: 'not-recorded', message: `${label} could not be recorded now; repeat it after the next welcome` };
    }
  }

  /**
   * Answers a handled frame on the socket it came in on. `first`: the copy that was handled (a
   * repeat that waited for it gets the ack but not the error frame again).
   */
  private answer(socket: WebSocket, verdict: Verdict, ack: string, label: string, first: boolean): void {
    switch (verdict.kind) {
      case 'recorded':
        this.write(socket, ack);
        return;
      case 'refused':
        if (first) this.sendError(socket, 'DEVICE_FRAME_REFUSED', verdict.message, false);
        this.write(socket, ack);
        return;
      case 'not-recorded':
        if (first) this.sendError(socket, 'DEVICE_FRAME_NOT_RECORDED', verdict.message, false);
        return;
      case 'skipped':
        this.options.logger?.debug({ frame: label }, 'report not tried: an earlier report of the message was not recorded');
        return;
      default: {
        const unreachable: never = verdict;
        throw new Error(`unhandled verdict ${JSON.stringify(unreachable)}`);
      }
    }
  }

  /** The device holds the command: it leaves the queue and is never (re-)sent. */
  private settle(state: DeviceState, commandId: string): void {
    remember(state.settled, commandId, this.dedupeMemory);
    const index = state.queue.findIndex((pending) => pending.command.commandId === commandId);
    if (index >= 0) state.queue.splice(index, 1);
  }

  // ---- sending ---------------------------------------------------------------------------------

  private pump(state: DeviceState): void {
    if (state.pumpTimer || !state.greeted || !state.socket || state.socket.readyState !== WebSocket.OPEN || !state.pacer) return;
    for (const pending of state.queue) {
      if (pending.state !== 'waiting') continue;
      const wait = state.pacer.take(Date.now());
      if (wait > 0) {
        state.pumpTimer = setTimeout(() => {
          state.pumpTimer = undefined;
          this.pump(state);
        }, wait);
        return;
      }
      pending.state = 'written';
      pending.attempts += 1;
      this.write(state.socket, serializeFrame({ type: 'send', ...pending.command }));
      this.emit('dispatched', {
        deviceId: state.deviceId,
        commandId: pending.command.commandId,
        messageId: pending.command.messageId,
        attempt: pending.attempts,
        queuedMs: Date.now() - pending.queuedAt,
      });
    }
  }

  private device(deviceId: string): DeviceState {
    let state = this.devices.get(deviceId);
    if (!state) {
      state = {
        deviceId,
        greeted: false,
        queue: [],
        settled: new Set(),
        seenReports: new Set(),
        seenInbound: new Set(),
        handling: new Map(),
        reportChains: new Map(),
      };
      this.devices.set(deviceId, state);
    }
    return state;
  }

  private sendError(socket: WebSocket, code: string, message: string, fatal: boolean): void {
    this.write(socket, serializeFrame({ type: 'error', code, message, fatal }));
    if (fatal) socket.close(4400, code);
  }

  private write(socket: WebSocket, text: string): void {
    if (socket.readyState === WebSocket.OPEN) socket.send(text);
  }
}

function reject(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}

/** Adds the key; false when it was already there. Forgets the oldest key beyond `limit`. */
function remember(set: Set<string>, key: string, limit: number): boolean {
  if (set.has(key)) return false;
  set.add(key);
  if (set.size > limit) {
    const oldest = set.values().next();
    if (!oldest.done) set.delete(oldest.value);
  }
  return true;
}
