import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { WebSocket, type RawData } from 'ws';
import { parseServerFrame, serializeFrame, type DeviceFrame, type ErrorFrame, type ReportStep, type SendFrame, type Sim, type WelcomeFrame } from './device-protocol';

/** How the simulated phone answers `send` commands; changeable at run time with `setBehaviour`. */
export interface DeviceSimulatorBehaviour {
  /** Delay from `accepted` to `sent` (the radio). */
  readonly sendLatencyMs: number;
  /** Delay from `sent` to `delivered` (the handset's delivery report). */
  readonly deliveryLatencyMs: number;
  /** Share of sends that end `failed` instead of `sent`, in [0, 1]. */
  readonly failureRate: number;
  /** The last step reported: `none` ignores commands (never accepts them). */
  readonly respondUpTo: 'none' | 'accepted' | 'sent' | 'delivered';
  /** False = a silent device (no heartbeats). */
  readonly heartbeats: boolean;
}

export interface DeviceSimulatorOptions extends Partial<DeviceSimulatorBehaviour> {
  /** The gateway's WebSocket URL, e.g. `ws://127.0.0.1:8081/v1/device`. */
  readonly url: string;
  readonly token: string;
  readonly sims?: readonly Sim[];
  readonly maxSendsPerMinute?: number;
  /** Reconnect after an unexpected close (default true), after `reconnectDelayMs` (default 200). */
  readonly reconnect?: boolean;
  readonly reconnectDelayMs?: number;
  /** [0, 1) source for the failure draw; injectable for deterministic tests. */
  readonly random?: () => number;
  readonly logger?: Logger;
}

export type DeviceSimulatorEvents = {
  welcome: [WelcomeFrame];
  command: [SendFrame];
  reported: [{ readonly messageId: string; readonly step: ReportStep }];
  disconnected: [{ readonly code: number }];
  'error-frame': [ErrorFrame];
};

/** Thrown by `connect` when the gateway refuses the upgrade (401 for a bad token). */
export class DeviceSimulatorRejectedError extends Error {
  readonly code = 'DEVICE_SIMULATOR_REJECTED';
  override readonly name = 'DeviceSimulatorRejectedError';

  constructor(readonly status: number) {
    super(`Gateway refused the connection with HTTP ${status}`);
  }
}

/**
 * A phone speaking the real device protocol (docs/device-protocol.md), for tests, the CLI and
 * benchmarks. Reports and inbound SMS are kept until the gateway acks them and are re-sent on
 * every (re)connection, as a real device must do.
 */
export class DeviceSimulator extends EventEmitter<DeviceSimulatorEvents> {
  private socket?: WebSocket;
  private behaviour: DeviceSimulatorBehaviour;
  private readonly timers = new Set<NodeJS.Timeout>();
  private heartbeatTimer?: NodeJS.Timeout;
  private closed = false;
  private inboundSeq = 0;
  /** Commands seen (by commandId), so a re-sent command is not sent twice over the radio. */
  private readonly handled = new Set<string>();
  /** Frames not yet acked by the gateway, keyed `report:<messageId>:<step>` / `inbound:<id>`. */
  private readonly unacked = new Map<string, string>();
  /** Every `send` frame received, in order (re-sends included). */
  readonly commands: SendFrame[] = [];

  constructor(private readonly options: DeviceSimulatorOptions) {
    super();
    this.behaviour = {
      sendLatencyMs: options.sendLatencyMs ?? 50,
      deliveryLatencyMs: options.deliveryLatencyMs ?? 100,
      failureRate: options.failureRate ?? 0,
      respondUpTo: options.respondUpTo ?? 'delivered',
      heartbeats: options.heartbeats ?? true,
    };
  }

  setBehaviour(change: Partial<DeviceSimulatorBehaviour>): void {
    this.behaviour = { ...this.behaviour, ...change };
  }

  get connected(): boolean {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  /** Opens the socket, says hello, resolves with the welcome; rejects on a refused upgrade. */
  connect(): Promise<WelcomeFrame> {
    this.closed = false;
    return new Promise<WelcomeFrame>((resolve, reject) => {
      const socket = new WebSocket(this.options.url, { headers: { authorization: `Bearer ${this.options.token}` } });
      this.socket = socket;
      let settled = false;
      let welcomed = false;
      socket.once('unexpected-response', (_request, response) => {
        settled = true;
        response.resume();
        socket.terminate();
        reject(new DeviceSimulatorRejectedError(response.statusCode ?? 0));
      });
      socket.on('error', (error) => {
        this.options.logger?.warn({ err: error }, 'simulator socket error');
        if (!settled) {
          settled = true;
          reject(error);
        }
      });
      socket.on('open', () => {
        this.send(socket, {
          type: 'hello',
          sims: [...(this.options.sims ?? [{ slot: 0 }])],
          maxSendsPerMinute: this.options.maxSendsPerMinute ?? 30,
          appVersion: 'reach-device-simulator/0.1',
        });
      });
      socket.on('message', (data: RawData) => {
        const welcome = this.onMessage(socket, data);
        if (welcome && !settled) {
          settled = true;
          welcomed = true;
          resolve(welcome);
        }
      });
      socket.on('close', (code) => {
        this.stopHeartbeats();
        if (this.socket === socket) this.socket = undefined;
        if (!welcomed) {
          // The connect() promise reports it (its caller decides about retrying).
          if (!settled) {
            settled = true;
            reject(new Error(`socket closed before welcome (code ${code})`));
          }
          return;
        }
        this.emit('disconnected', { code });
        // 4001: the device was revoked; its token will be refused, so like a phone it stops.
        if (!this.closed && this.options.reconnect !== false && code !== 4001) this.scheduleReconnect();
      });
    });
  }

  /** Cuts the connection abruptly (no close handshake); reconnects unless `reconnect: false`. */
  drop(): void {
    this.socket?.terminate();
  }

  /** Receives an SMS on the phone and reports it; returns its inbound id. */
  receiveSms(sms: { readonly from: string; readonly body: string; readonly to?: string; readonly sim?: number; readonly inboundId?: string }): string {
    const inboundId = sms.inboundId ?? `in-${process.pid}-${Date.now()}-${++this.inboundSeq}`;
    const frame: DeviceFrame = {
      v: 1,
      type: 'inbound',
      inboundId,
      from: sms.from,
      body: sms.body,
      receivedAt: new Date().toISOString(),
      ...(sms.to !== undefined ? { to: sms.to } : {}),
      ...(sms.sim !== undefined ? { sim: sms.sim } : {}),
    };
    this.track(`inbound:${inboundId}`, serializeFrame(frame));
    return inboundId;
  }

  /** Writes a raw text frame (tests: duplicates, malformed frames). */
  sendRaw(text: string): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(text);
  }

  /** Frames still waiting for the gateway's ack. */
  get unackedCount(): number {
    return this.unacked.size;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopHeartbeats();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    const socket = this.socket;
    this.socket = undefined;
    if (!socket || socket.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      socket.terminate();
    });
  }

  private onMessage(socket: WebSocket, data: RawData): WelcomeFrame | undefined {
    const parsed = parseServerFrame(Buffer.isBuffer(data) ? data.toString('utf8') : String(data));
    if (!parsed.ok) {
      this.options.logger?.warn({ err: parsed.error }, 'simulator got a bad frame');
      return undefined;
    }
    const frame = parsed.frame;
    switch (frame.type) {
      case 'welcome':
        this.startHeartbeats(socket, frame.heartbeatIntervalMs);
        for (const text of this.unacked.values()) socket.send(text);
        this.emit('welcome', frame);
        return frame;
      case 'heartbeat':
        return undefined;
      case 'send':
        this.onSend(frame);
        return undefined;
      case 'ack':
        this.unacked.delete(frame.of === 'report' ? `report:${frame.messageId}:${frame.step}` : `inbound:${frame.inboundId}`);
        return undefined;
      case 'error':
        this.emit('error-frame', frame);
        return undefined;
      default: {
        const unreachable: never = frame;
        throw new Error(`unhandled frame ${JSON.stringify(unreachable)}`);
      }
    }
  }

  private onSend(frame: SendFrame): void {
    this.commands.push(frame);
    this.emit('command', frame);
    const { respondUpTo, sendLatencyMs, deliveryLatencyMs, failureRate } = this.behaviour;
    if (respondUpTo === 'none') return;
    if (this.handled.has(frame.commandId)) {
      // Already on the phone: confirm again, never send it twice.
      this.report(frame, 'accepted');
      return;
    }
    this.handled.add(frame.commandId);
    this.report(frame, 'accepted');
    if (respondUpTo === 'accepted') return;
    const fails = (this.options.random ?? Math.random)() < failureRate;
    this.later(sendLatencyMs, () => {
      if (frame.expiresAt !== undefined && Date.now() > Date.parse(frame.expiresAt)) {
        // Like a real phone that could not get it out in time: not sent after its validity.
        this.report(frame, 'failed', 'expired');
        return;
      }
      if (fails) {
        this.report(frame, 'failed', 'generic');
        return;
      }
      this.report(frame, 'sent');
      if (respondUpTo === 'sent') return;
      this.later(deliveryLatencyMs, () => this.report(frame, 'delivered'));
    });
  }

  private report(command: SendFrame, step: ReportStep, reason?: string): void {
    const base = { v: 1 as const, commandId: command.commandId, messageId: command.messageId, at: new Date().toISOString() };
    const frame: DeviceFrame = step === 'failed' ? { ...base, type: 'failed', reason: reason ?? 'generic' } : { ...base, type: step };
    this.track(`report:${command.messageId}:${step}`, serializeFrame(frame));
    this.emit('reported', { messageId: command.messageId, step });
  }

  /** Keeps the frame until acked; sends it now when connected, else on the next welcome. */
  private track(key: string, text: string): void {
    this.unacked.set(key, text);
    this.sendRaw(text);
  }

  private send(socket: WebSocket, frame: Parameters<typeof serializeFrame>[0]): void {
    if (socket.readyState === WebSocket.OPEN) socket.send(serializeFrame(frame));
  }

  private startHeartbeats(socket: WebSocket, intervalMs: number): void {
    this.stopHeartbeats();
    this.heartbeatTimer = setInterval(() => {
      if (this.behaviour.heartbeats) this.send(socket, { type: 'heartbeat', at: new Date().toISOString() });
    }, intervalMs);
  }

  private stopHeartbeats(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }

  /**
   * Reconnects like a phone should: again and again with a growing pause (up to 16 × the base
   * delay), also after a 503 (the edge has no channel owner for a moment, e.g. while a dispatcher
   * restarts); only a refused token (401, 403) ends the attempts.
   */
  private scheduleReconnect(attempt = 0): void {
    const base = this.options.reconnectDelayMs ?? 200;
    this.later(base * 2 ** Math.min(attempt, 4), () => {
      this.connect().catch((error: unknown) => {
        this.options.logger?.warn({ err: error }, 'simulator reconnect failed');
        const refused = error instanceof DeviceSimulatorRejectedError && (error.status === 401 || error.status === 403);
        if (!this.closed && !refused) this.scheduleReconnect(attempt + 1);
      });
    });
  }

  private later(ms: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.closed) run();
    }, ms);
    this.timers.add(timer);
  }
}
