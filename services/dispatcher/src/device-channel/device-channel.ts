import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { deliveryErrors } from '@reach/contracts';
import {
  DeviceFrameNotRecordedError,
  DeviceFrameRefusedError,
  DeviceGatewayServer,
  type DeviceIdentity,
  type DeviceInboundSms,
  type DeviceReport,
} from '@reach/device-gateway';
import type { ChannelHooks, ChannelReports, ChannelSend, OutboundChannel, ReportSource } from '../channels/outbound-channel';
import { dlrDateOf } from '../simulated-channel/simulated-phone';
import { createDeviceChannelMetrics, type DeviceChannelMetrics } from './device-channel.metrics';
import type { DeviceBinding, DeviceRecord, FindDeviceByToken, FindRevokedDevices, LoadDeviceBindings, SetNumberPresence } from './device-channel.ports';
import { NumberPresence } from './device-presence';
import { DeviceRoutes, resolveInboundNumber } from './device-routes';

export interface DeviceChannelOptions {
  /** Where the gateway listens for devices (path `/v1/device`); port 0: an ephemeral port (tests). */
  readonly host: string;
  readonly port: number;
  readonly findDeviceByToken: FindDeviceByToken;
  /** Asked at every refresh about the devices connected here: a revoked one is disconnected (close code 4001). */
  readonly findRevokedDevices: FindRevokedDevices;
  readonly loadBindings: LoadDeviceBindings;
  readonly setPresence: SetNumberPresence;
  readonly logger: Logger;
  readonly registry?: Registry;
  /** Told to devices in `welcome` (default 15 s); silent for 3 intervals = offline. */
  readonly heartbeatIntervalMs?: number;
  readonly heartbeatTimeoutMs?: number;
  /** The window `sendsPerMinute` is counted in (default 60 s; tests shorten it). */
  readonly pacingWindowMs?: number;
  /** How often the bindings are re-read and connected devices checked for revocation (default 10 s). */
  readonly refreshIntervalMs?: number;
  /** A number or device missing from the table re-reads it at most this often (default 1 s). */
  readonly missRefreshIntervalMs?: number;
  /**
   * How long after the validity ends a device that accepted a command has to report it sent or
   * failed (its clock may be behind; it reports `expired` itself) before the message fails here;
   * counted from its reconnection when it was offline then. Default 60 s.
   */
  readonly acceptedGraceMs?: number;
  readonly clock?: () => Date;
}

/** A command's validity deadline (see `DeviceChannel`'s validity notes). */
interface Deadline {
  readonly deviceId: string;
  readonly expiresAt: number;
  /** The device reported `accepted` to this process. */
  accepted: boolean;
  /** Handed over again after a restart: the device may hold it without this process knowing. */
  readonly resumed: boolean;
  /** Null while parked (past the deadline, device offline) or firing. */
  timer: NodeJS.Timeout | null;
}

/** The shortest wait before asking a paced device again (timer granularity; no busy loop). */
const MIN_WAKE_DELAY_MS = 10;
/** setTimeout's limit; a longer deadline is re-armed in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const VALIDITY_ELAPSED = 'Validity period elapsed before the device took the message';
const VALIDITY_ELAPSED_ON_DEVICE = 'Validity period elapsed before the device reported the message sent';

/**
 * Messages out through Android-style phones speaking docs/device-protocol.md, and the phones'
 * reports and inbound SMS in. It hosts the `DeviceGatewayServer`, which holds each device's
 * ordered command queue, pacing and re-send rules.
 *
 * - Ready means written at once: `isReady(sender)` is true only when the sender's device is
 *   online and can take a command without waiting for pacing, so `MessageDispatched` is appended
 *   just before the command reaches a connected device. Otherwise the message waits in the
 *   dispatcher's durable backlog and the channel wakes the sender when its device connects or
 *   pacing frees a slot.
 * - Acknowledged after recorded: the gateway acks a report or inbound SMS only once the
 *   dispatcher appended it; until then the device keeps it and repeats it after its next
 *   `welcome` (also to the next owner after a restart). Reports the platform can never record
 *   (unknown message) are acked with an error frame; inbound SMS to a number not bound to the
 *   device are not acked (kept on the phone until the binding exists).
 * - Validity: a command the device has not accepted by `expiresAt` is withdrawn and the message
 *   fails (30001). The device is told `expiresAt` and must not send after it. One it accepted
 *   but has reported neither sent nor failed on fails too (30001) once the device has been
 *   connected for a grace period past `expiresAt` (it repeats its unacked reports right after
 *   reconnecting, so silence then means it lost the command: wiped, reinstalled).
 * - In-memory only: queues and deadlines live in this process; after a restart the dispatcher
 *   hands unfinished messages over again (`send` is idempotent by message id).
 */
export class DeviceChannel implements OutboundChannel {
  readonly kind = 'device' as const;
  private gateway: DeviceGatewayServer | null = null;
  private reports: ChannelReports | null = null;
  private wakeSender: (sender: string) => void = () => undefined;
  private readonly routes: DeviceRoutes;
  private readonly presence: NumberPresence;
  private readonly metrics: DeviceChannelMetrics;
  private readonly clock: () => Date;
  /** The numbers each device's token lookup reported (to notice bindings newer than the table). */
  private readonly identities = new Map<string, DeviceRecord>();
  /**
   * Commands handed to a device and not reported sent or failed, by message id: their validity
   * deadline. `timer` is null while an accepted command's deadline waits for its device to come
   * back (`parked`).
   */
  private readonly deadlines = new Map<string, Deadline>();
  /** Accepted commands past their deadline whose device was offline then, by device. */
  private readonly parked = new Map<string, Set<string>>();
  /** Senders waiting for their device's pacing to free a slot. */
  private readonly wakeTimers = new Map<string, NodeJS.Timeout>();
  /** Senders asked about while not in the table: woken when a re-read binds them. */
  private readonly missed = new Set<string>();
  private refreshTimer: NodeJS.Timeout | null = null;
  /** Each number's device at the last read of the bindings, and the numbers that moved then. */
  private boundTo = new Map<string, string>();
  private movedLastRead = new Set<string>();

  constructor(private readonly options: DeviceChannelOptions) {
    this.clock = options.clock ?? (() => new Date());
    this.routes = new DeviceRoutes(options.loadBindings, options.missRefreshIntervalMs ?? 1000, () => this.afterRoutesLoaded(), options.logger);
    this.presence = new NumberPresence(options.setPresence, options.logger);
    this.metrics = createDeviceChannelMetrics(options.registry, () => this.gateway?.onlineCount ?? 0);
  }

  /** The URL devices connect to (once started). */
  get url(): string {
    if (!this.gateway) throw new Error('device channel not started');
    return this.gateway.url;
  }

  /**
   * Reads the routing table (every bound number is published offline until its device connects
   * here), then listens for devices.
   */
  async start(hooks: ChannelHooks): Promise<void> {
    if (this.gateway) return;
    this.reports = hooks.reports;
    this.wakeSender = (sender) => hooks.wake(sender);
    this.routes.resume();
    await this.routes.refresh();
    const { logger } = this.options;
    const gateway = await DeviceGatewayServer.start({
      host: this.options.host,
      port: this.options.port,
      path: '/v1/device',
      lookup: (token) => this.lookup(token),
      onReport: (report) => this.onReport(report),
      onInbound: (sms) => this.onInbound(sms),
      logger: logger.child({ component: 'device-gateway' }),
      ...(this.options.heartbeatIntervalMs !== undefined ? { heartbeatIntervalMs: this.options.heartbeatIntervalMs } : {}),
      ...(this.options.heartbeatTimeoutMs !== undefined ? { heartbeatTimeoutMs: this.options.heartbeatTimeoutMs } : {}),
      ...(this.options.pacingWindowMs !== undefined ? { pacingWindowMs: this.options.pacingWindowMs } : {}),
    });
    gateway.on('online', ({ deviceId }) => {
      this.onOnline(deviceId).catch((error: unknown) => logger.error({ err: error, deviceId }, 'handling a device coming online failed'));
    });
    gateway.on('offline', ({ deviceId }) => this.onOffline(deviceId));
    gateway.on('dispatched', ({ attempt, queuedMs }) => {
      if (attempt > 1) {
        this.metrics.command('resent');
        return;
      }
      this.metrics.command('written');
      this.metrics.written(queuedMs / 1000);
    });
    this.gateway = gateway;
    this.refreshTimer = setInterval(() => {
      void this.routes.refresh();
      void this.dropRevoked();
    }, this.options.refreshIntervalMs ?? 10_000);
    logger.info({ url: gateway.url }, 'device gateway listening');
  }

  isReady(sender: string): boolean {
    const gateway = this.gateway;
    if (!gateway) return false;
    const binding = this.routes.binding(sender);
    if (!binding) {
      this.missed.add(sender);
      void this.routes.refreshForMiss();
      return false;
    }
    // Offline: woken when the device connects.
    if (!gateway.isOnline(binding.deviceId)) return false;
    if (gateway.canSendNow(binding.deviceId)) return true;
    this.wakeWhenPaced(sender, binding.deviceId);
    return false;
  }

  send(message: ChannelSend): void {
    if (!this.gateway) {
      this.options.logger.warn({ messageId: message.messageId }, 'device channel not running; the message is resumed by the next owner');
      return;
    }
    const binding = this.bindingFor(message);
    if (binding) {
      this.command(binding, message);
      return;
    }
    // Not in the table (a resumed message is handed over without asking isReady): re-read once.
    void this.routes.refreshForMiss().then(() => {
      if (!this.gateway) return; // stopped meanwhile: the next owner resumes it
      const again = this.bindingFor(message);
      if (again) {
        this.command(again, message);
        return;
      }
      this.metrics.command('unbound');
      this.fail(message.messageId, deliveryErrors.channelUnavailable.code, `No device of the account is bound to ${message.from}`);
    });
  }

  /**
   * Closes the gateway: devices reconnect to the next owner, which hands unfinished messages over
   * again. Presence is not written here — the next owner publishes it, and a late "offline" from
   * this process could land after its "online".
   */
  async stop(): Promise<void> {
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    this.refreshTimer = null;
    this.routes.stop();
    for (const timer of this.wakeTimers.values()) clearTimeout(timer);
    this.wakeTimers.clear();
    for (const { timer } of this.deadlines.values()) if (timer) clearTimeout(timer);
    this.deadlines.clear();
    this.parked.clear();
    this.missed.clear();
    const gateway = this.gateway;
    this.gateway = null;
    if (gateway) {
      gateway.removeAllListeners();
      await gateway.close();
    }
    await this.presence.idle();
  }

  // ---- sending ---------------------------------------------------------------------------------

  private bindingFor(message: ChannelSend): DeviceBinding | undefined {
    const binding = this.routes.binding(message.from);
    return binding?.accountId === message.accountId ? binding : undefined;
  }

  private command(binding: DeviceBinding, message: ChannelSend): void {
    const gateway = this.gateway;
    if (!gateway) return;
    const status = gateway.commandStatus(binding.deviceId, message.messageId);
    // Reported on (a repeated hand-over): the device owns the outcome. Or withdrawn and failed.
    if (status === 'settled') return;
    if (message.expiresAt.getTime() <= this.clock().getTime()) {
      // Handed over (again) after its validity ended: withdrawn, never written to the device.
      if (status === 'pending') gateway.cancelCommand(binding.deviceId, message.messageId);
      this.clearDeadline(message.messageId);
      this.expire(message.messageId);
      return;
    }
    gateway.sendCommand(binding.deviceId, {
      commandId: message.messageId,
      messageId: message.messageId,
      destination: message.to,
      body: message.body,
      segments: message.segmentCount,
      ...(binding.simSlot !== null ? { sim: binding.simSlot } : {}),
      expiresAt: message.expiresAt.toISOString(),
    });
    if (!this.deadlines.has(message.messageId)) {
      const expiresAt = message.expiresAt.getTime();
      this.deadlines.set(message.messageId, { deviceId: binding.deviceId, expiresAt, accepted: false, resumed: message.resumed === true, timer: null });
      this.armDeadline(message.messageId, expiresAt);
    }
  }

  /** (Re-)arms the message's deadline to fire at `at` (epoch ms). */
  private armDeadline(messageId: string, at: number): void {
    const deadline = this.deadlines.get(messageId);
    if (!deadline) return;
    if (deadline.timer) clearTimeout(deadline.timer);
    const delay = Math.max(0, at - this.clock().getTime());
    deadline.timer = setTimeout(() => {
      deadline.timer = null;
      if (delay > MAX_TIMER_MS) this.armDeadline(messageId, at);
      else if (this.deadlines.get(messageId) === deadline) this.deadlineReached(messageId, deadline);
    }, Math.min(delay, MAX_TIMER_MS));
  }

  private deadlineReached(messageId: string, deadline: Deadline): void {
    const gateway = this.gateway;
    if (!gateway) return;
    const { deviceId } = deadline;
    if ((deadline.accepted || deadline.resumed) && !gateway.isOnline(deviceId)) {
      // The device holds it (or, handed over before a restart, may): it may have sent the SMS
      // while we could not hear it (no data, but a radio), and reports when it reconnects. Judged
      // a grace period after that.
      const parked = this.parked.get(deviceId) ?? new Set<string>();
      parked.add(messageId);
      this.parked.set(deviceId, parked);
      return;
    }
    this.deadlines.delete(messageId);
    if (!deadline.accepted) {
      // Withdrawn: never written again. False when a report settled it meanwhile.
      if (gateway.cancelCommand(deviceId, messageId)) this.expire(messageId);
      return;
    }
    // Accepted, and connected yet silent about it past the validity and the grace: the device
    // lost it (a report clears the deadline), and was told not to send it any more.
    this.expire(messageId, VALIDITY_ELAPSED_ON_DEVICE);
  }

  /** The device is back: its parked commands get the grace period to be reported on. */
  private unpark(deviceId: string): void {
    const parked = this.parked.get(deviceId);
    if (!parked) return;
    this.parked.delete(deviceId);
    const at = this.clock().getTime() + this.acceptedGraceMs;
    for (const messageId of parked) this.armDeadline(messageId, at);
  }

  /** The device took the command: it has until the validity ends, plus the grace, to report on it. */
  private extendDeadline(messageId: string): void {
    const deadline = this.deadlines.get(messageId);
    if (!deadline || deadline.accepted) return;
    deadline.accepted = true;
    // Accepted after the validity ended (written just before): the grace counts from now.
    this.armDeadline(messageId, Math.max(deadline.expiresAt, this.clock().getTime()) + this.acceptedGraceMs);
  }

  private get acceptedGraceMs(): number {
    return this.options.acceptedGraceMs ?? 60_000;
  }

  private clearDeadline(messageId: string): void {
    const deadline = this.deadlines.get(messageId);
    if (!deadline) return;
    if (deadline.timer) clearTimeout(deadline.timer);
    this.deadlines.delete(messageId);
    const parked = this.parked.get(deadline.deviceId);
    if (parked?.delete(messageId) && parked.size === 0) this.parked.delete(deadline.deviceId);
  }

  private expire(messageId: string, reason = VALIDITY_ELAPSED): void {
    this.metrics.command('expired');
    this.fail(messageId, deliveryErrors.validityExpired.code, reason);
  }

  private fail(messageId: string, errorCode: number, reason: string): void {
    const reports = this.reports;
    if (!reports) return;
    reports.failed(messageId, errorCode, reason).catch((error: unknown) => {
      // Left `dispatched`: the next owner's resume sweep hands it over again.
      this.options.logger.error({ err: error, messageId, errorCode }, 'could not record the device channel failure');
    });
  }

  private wakeWhenPaced(sender: string, deviceId: string): void {
    if (this.wakeTimers.has(sender)) return;
    const at = this.gateway?.nextSendAt(deviceId);
    if (at === null || at === undefined) return;
    const timer = setTimeout(
      () => {
        this.wakeTimers.delete(sender);
        this.wakeSender(sender);
      },
      Math.max(MIN_WAKE_DELAY_MS, at - Date.now()),
    );
    this.wakeTimers.set(sender, timer);
  }

  // ---- devices coming and going ------------------------------------------------------------------

  private async lookup(token: string): Promise<DeviceIdentity | null> {
    const device = await this.options.findDeviceByToken(token);
    if (!device) return null;
    this.identities.set(device.deviceId, device);
    return { deviceId: device.deviceId, accountId: device.accountId, numbers: device.numbers.map((n) => n.e164), sendsPerMinute: device.sendsPerMinute };
  }

  private async onOnline(deviceId: string): Promise<void> {
    const identity = this.identities.get(deviceId);
    // Bound after the last read (a device created and connected a moment ago): read again first.
    if (identity?.numbers.some((n) => this.routes.binding(n.e164)?.deviceId !== deviceId)) await this.routes.refreshForMiss();
    if (!this.gateway?.isOnline(deviceId)) return;
    this.unpark(deviceId);
    for (const { e164 } of this.routes.numbersOf(deviceId)) {
      this.presence.publish(e164, true);
      this.wakeSender(e164);
    }
  }

  /**
   * Disconnects connected devices whose token was revoked (`reachctl device revoke`), and fails
   * the parked commands of revoked devices: they will never connect again to report on them.
   */
  private async dropRevoked(): Promise<void> {
    const devices = [...new Set([...(this.gateway?.onlineDeviceIds() ?? []), ...this.parked.keys()])];
    if (devices.length === 0) return;
    let revoked: readonly string[];
    try {
      revoked = await this.options.findRevokedDevices(devices);
    } catch (error) {
      this.options.logger.warn({ err: error }, 'could not check devices for revocation; trying again at the next refresh');
      return;
    }
    for (const deviceId of revoked) {
      if (this.gateway?.revoke(deviceId)) this.options.logger.info({ deviceId }, 'revoked device disconnected');
      const parked = this.parked.get(deviceId);
      this.parked.delete(deviceId);
      for (const messageId of parked ?? []) {
        if (!this.deadlines.delete(messageId)) continue;
        this.gateway?.cancelCommand(deviceId, messageId);
        this.expire(messageId, VALIDITY_ELAPSED_ON_DEVICE);
      }
    }
  }

  private onOffline(deviceId: string): void {
    for (const { e164 } of this.routes.numbersOf(deviceId)) {
      this.presence.publish(e164, false);
      this.cancelPacedWake(e164);
    }
  }

  /** Drops the sender's pending wake-up for pacing (the device left, or its pace changed). */
  private cancelPacedWake(e164: string): void {
    const timer = this.wakeTimers.get(e164);
    if (timer) clearTimeout(timer);
    this.wakeTimers.delete(e164);
  }

  /**
   * After each read of the bindings: presence follows the table, senders bound meanwhile are
   * woken. A number that moved to another device is published again whatever was told before,
   * at this read and the next: `reachctl device bind` writes it offline just after the move, and
   * the device it moved to may be connected already.
   */
  private afterRoutesLoaded(): void {
    const desired = new Map<string, boolean>();
    const boundTo = new Map<string, string>();
    const moved = new Set<string>();
    const repaced = new Set<string>();
    for (const binding of this.routes.all()) {
      desired.set(binding.e164, this.gateway?.isOnline(binding.deviceId) ?? false);
      // `reachctl device pace` changed it: in force at once for a connected device.
      if (this.gateway?.setSendsPerMinute(binding.deviceId, binding.sendsPerMinute)) repaced.add(binding.deviceId);
      boundTo.set(binding.e164, binding.deviceId);
      const before = this.boundTo.get(binding.e164);
      if (before !== undefined && before !== binding.deviceId) moved.add(binding.e164);
    }
    for (const e164 of new Set([...moved, ...this.movedLastRead])) this.presence.forget(e164);
    this.boundTo = boundTo;
    this.movedLastRead = moved;
    this.presence.reconcile(desired);
    for (const e164 of moved) if (desired.get(e164)) this.wakeSender(e164);
    for (const deviceId of repaced) {
      for (const { e164 } of this.routes.numbersOf(deviceId)) {
        this.cancelPacedWake(e164);
        this.wakeSender(e164);
      }
    }
    for (const sender of this.missed) if (this.routes.binding(sender)) this.wakeSender(sender);
    this.missed.clear();
  }

  // ---- what devices report -------------------------------------------------------------------------

  /** Resolves once the report is recorded (the gateway acks it then). */
  private async onReport(report: DeviceReport): Promise<void> {
    // After `accepted` the deadline still runs (plus a grace): the device must still send it in time.
    if (report.step === 'accepted') this.extendDeadline(report.messageId);
    else this.clearDeadline(report.messageId);
    const reports = this.requireReports();
    // A device names the message itself: only its own account's device-channel messages may be changed.
    const source: ReportSource = { accountId: report.accountId, channel: 'device' };
    try {
      switch (report.step) {
        case 'accepted':
          // The acknowledgement of the command: the device holds it and will send it (in time).
          break;
        case 'sent':
          await reports.sent(report.messageId, null, source);
          break;
        case 'delivered':
          // The phone's delivery report time is the receipt's done date.
          await reports.delivered(report.messageId, dlrDateOf(new Date(report.at)), source);
          break;
        case 'failed':
          await reports.failed(
            report.messageId,
            // Not sent because its validity ended on the phone: the same fact as our own deadline.
            report.reason === 'expired' ? deliveryErrors.validityExpired.code : deliveryErrors.deviceError.code,
            `Device ${report.deviceId} reported ${report.reason ?? 'generic'}${report.detail ? `: ${report.detail}` : ''}`,
            source,
          );
          break;
        default: {
          const unreachable: never = report.step;
          throw new Error(`unhandled report step ${String(unreachable)}`);
        }
      }
    } catch (error) {
      // Can never be recorded (unknown message, never dispatched): acked, so the device drops it.
      if (isRefusal(error)) throw new DeviceFrameRefusedError('the platform cannot record it (unknown or not dispatched message)');
      throw error;
    }
    this.metrics.recorded(report.step);
  }

  /** Resolves once the SMS is recorded under `deviceId:inboundId` (a repeat is recorded once). */
  private async onInbound(sms: DeviceInboundSms): Promise<void> {
    const reports = this.requireReports();
    let to = resolveInboundNumber(this.routes.numbersOf(sms.deviceId), sms.to, sms.sim);
    if (!to) {
      await this.routes.refreshForMiss();
      to = resolveInboundNumber(this.routes.numbersOf(sms.deviceId), sms.to, sms.sim);
    }
    // Not acked: the phone keeps the SMS and repeats it, so it is recorded once the binding exists.
    if (!to) throw new DeviceFrameNotRecordedError(unroutableReason(sms));
    try {
      await reports.received({ key: `${sms.deviceId}:${sms.inboundId}`, from: sms.from, to, body: sms.body }, 'device');
    } catch (error) {
      if (isRefusal(error)) throw new DeviceFrameNotRecordedError(`${to} is not a provisioned number; kept until it is`);
      throw error;
    }
    this.metrics.recorded('inbound');
  }

  private requireReports(): ChannelReports {
    if (!this.reports) throw new Error('device channel not started');
    return this.reports;
  }
}

function unroutableReason(sms: DeviceInboundSms): string {
  if (sms.to !== undefined) return `${sms.to} is not a number bound to this device; kept until it is`;
  if (sms.sim !== undefined) return `no number is bound to SIM slot ${sms.sim} of this device; send "to" or bind the number`;
  return 'the device has no single bound number; send "to" or "sim"';
}

/**
 * The reports port's refusal (`ChannelReportRefusedError`, code `CHANNEL_REPORT_REFUSED`): the
 * fact can never be recorded as reported. Matched on the stable code.
 */
function isRefusal(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'CHANNEL_REPORT_REFUSED';
}
