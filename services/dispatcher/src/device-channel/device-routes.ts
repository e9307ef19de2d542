import type { Logger } from 'pino';
import type { DeviceBinding, LoadDeviceBindings } from './device-channel.ports';

/**
 * The number of ours an inbound SMS reached: the frame's `to` when it is one of the device's
 * numbers; else the number bound to the frame's SIM slot; else the device's only number (when
 * the frame names a slot, only if that number is not bound to another slot). Null when none
 * fits — never a number of another device, so a device cannot post SMS into numbers it does
 * not hold.
 */
export function resolveInboundNumber(own: readonly Pick<DeviceBinding, 'e164' | 'simSlot'>[], to?: string, sim?: number): string | null {
  if (to !== undefined) return own.some((binding) => binding.e164 === to) ? to : null;
  if (sim !== undefined) {
    const inSlot = own.filter((binding) => binding.simSlot === sim);
    if (inSlot.length === 1) return inSlot[0]!.e164;
    if (inSlot.length > 1) return null;
    return own.length === 1 && own[0]!.simSlot === null ? own[0]!.e164 : null;
  }
  return own.length === 1 ? own[0]!.e164 : null;
}

/**
 * The routing table (number → device + SIM slot), read whole from the bindings. Re-read on a
 * timer by the channel and on a miss, a miss at most once per `missIntervalMs`; concurrent
 * reads share one. A failed read keeps the previous table.
 */
export class DeviceRoutes {
  private byNumber = new Map<string, DeviceBinding>();
  private byDevice = new Map<string, DeviceBinding[]>();
  private loading: Promise<boolean> | null = null;
  private lastStartedAt = Number.NEGATIVE_INFINITY;
  private missRefresh: { readonly done: Promise<boolean>; readonly timer: NodeJS.Timeout; readonly resolve: (loaded: boolean) => void } | null = null;
  private stopped = false;

  constructor(
    private readonly load: LoadDeviceBindings,
    private readonly missIntervalMs: number,
    /** Called after every successful read (presence reconciliation, waking senders that were missed). */
    private readonly onLoaded: () => void,
    private readonly logger: Logger,
  ) {}

  binding(e164: string): DeviceBinding | undefined {
    return this.byNumber.get(e164);
  }

  numbersOf(deviceId: string): readonly DeviceBinding[] {
    return this.byDevice.get(deviceId) ?? [];
  }

  all(): IterableIterator<DeviceBinding> {
    return this.byNumber.values();
  }

  /** Reads the table now (or joins the read in progress); false when the read failed. */
  refresh(): Promise<boolean> {
    if (this.stopped) return Promise.resolve(false);
    this.loading ??= this.read().finally(() => (this.loading = null));
    return this.loading;
  }

  /** A read for a number or device not in the table: soon, but at most once per `missIntervalMs`. */
  refreshForMiss(): Promise<boolean> {
    if (this.stopped) return Promise.resolve(false);
    if (this.missRefresh) return this.missRefresh.done;
    let resolve: (loaded: boolean) => void = () => undefined;
    const done = new Promise<boolean>((r) => (resolve = r));
    const delay = Math.max(0, this.lastStartedAt + this.missIntervalMs - Date.now());
    const timer = setTimeout(() => {
      this.missRefresh = null;
      void this.refresh().then(resolve);
    }, delay);
    this.missRefresh = { done, timer, resolve };
    return done;
  }

  /** After `stop`: reads are taken again (the channel was started again). */
  resume(): void {
    this.stopped = false;
  }

  stop(): void {
    this.stopped = true;
    if (this.missRefresh) {
      clearTimeout(this.missRefresh.timer);
      this.missRefresh.resolve(false);
      this.missRefresh = null;
    }
  }

  private async read(): Promise<boolean> {
    this.lastStartedAt = Date.now();
    let rows: readonly DeviceBinding[];
    try {
      rows = await this.load();
    } catch (error) {
      this.logger.warn({ err: error }, 'could not read the device bindings; keeping the previous routing table');
      return false;
    }
    const byNumber = new Map<string, DeviceBinding>();
    const byDevice = new Map<string, DeviceBinding[]>();
    for (const row of rows) {
      byNumber.set(row.e164, row);
      const list = byDevice.get(row.deviceId);
      if (list) list.push(row);
      else byDevice.set(row.deviceId, [row]);
    }
    this.byNumber = byNumber;
    this.byDevice = byDevice;
    if (!this.stopped) this.onLoaded();
    return true;
  }
}
