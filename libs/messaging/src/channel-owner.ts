import { KvWatchInclude, StorageType, type JetStreamClient, type KV, type KvEntry } from 'nats';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { NatsNames } from '@reach/contracts';
import { isAlreadyExists, jetStreamErrorCode, messageOf } from './nats-errors';
import { followWatch } from './watch-follower';

/**
 * Who owns the channels now, and where the public edge reaches its device gateway. Written by
 * the dispatcher replica that holds the channels lease, read by every api-gateway replica, which
 * proxies devices' WebSocket upgrades there.
 */
export const ChannelOwner = z.object({
  /** Plain HTTP: the edge speaks raw TCP to it (`http://10.0.0.5:3005`), inside the cluster. */
  deviceGatewayUrl: z.url({ protocol: /^http$/ }),
  /** The lease holder (its replica id); `withdraw` deletes the entry only for this owner. */
  ownerId: z.string().min(1).max(200),
  since: z.iso.datetime({ offset: true }),
});
export type ChannelOwner = z.infer<typeof ChannelOwner>;

/** The key of the device gateway's owner in the channel-owner bucket. */
export const DEVICE_GATEWAY_OWNER_KEY = 'device-gateway';

/** JetStream's "wrong last sequence": an optimistic delete lost against a newer write. */
const WRONG_LAST_SEQUENCE = 10071;

/** `<namespace>-channel-owner` (created by `ensureTopology`, or on first open). */
export function channelOwnerBucket(names: NatsNames): string {
  return names.channelOwnerBucket;
}

/** One read of the owner entry; `owner` null: nobody owns the channels (or the value is malformed, see `invalid`). */
export interface ChannelOwnerChange {
  readonly owner: ChannelOwner | null;
  readonly revision: number;
  readonly invalid?: string;
}

/**
 * The channel-owner KV bucket (history 1). Every process may open it (it is created when
 * missing); only the lease holder publishes. The lease decides who owns the channels; this entry
 * only tells the edge where to send devices, so a stale entry costs refused connections (the
 * edge answers 503 and the device retries), never a second owner.
 */
export class ChannelOwnerDirectory {
  private constructor(readonly kv: KV) {}

  /** Creates the bucket when missing and binds to it otherwise (an existing bucket's configuration is left as is). */
  static async open(js: JetStreamClient, names: NatsNames, options: { readonly replicas?: number } = {}): Promise<ChannelOwnerDirectory> {
    const bucket = channelOwnerBucket(names);
    for (let attempt = 1; ; attempt++) {
      try {
        return new ChannelOwnerDirectory(await js.views.kv(bucket, { history: 1, storage: StorageType.File, replicas: options.replicas ?? 1 }));
      } catch (error) {
        if (isAlreadyExists(error) && attempt < 3) continue;
        throw new Error(`cannot open key-value bucket ${bucket}: ${String(error)}`, { cause: error });
      }
    }
  }

  /** The lease holder announces itself at `now`; replaces any earlier owner. Returns the entry's revision. */
  async publish(owner: { readonly deviceGatewayUrl: string; readonly ownerId: string }, now: Date): Promise<number> {
    const value: ChannelOwner = ChannelOwner.parse({ deviceGatewayUrl: owner.deviceGatewayUrl, ownerId: owner.ownerId, since: now.toISOString() });
    return this.kv.put(DEVICE_GATEWAY_OWNER_KEY, JSON.stringify(value));
  }

  /**
   * Deletes the entry if `ownerId` still owns it (a replica giving the lease up, or shutting
   * down). False when another owner published since: their entry is kept. Compare-and-delete on
   * the entry's revision, so a publish racing with it is never lost.
   */
  async withdraw(ownerId: string): Promise<boolean> {
    const entry = await this.kv.get(DEVICE_GATEWAY_OWNER_KEY);
    if (entry === null) return false;
    const current = toChange(entry);
    if (current.owner?.ownerId !== ownerId) return false;
    try {
      await this.kv.delete(DEVICE_GATEWAY_OWNER_KEY, { previousSeq: entry.revision });
      return true;
    } catch (error) {
      if (jetStreamErrorCode(error) === WRONG_LAST_SEQUENCE || /wrong last sequence/i.test(messageOf(error) ?? '')) return false;
      throw error;
    }
  }

  /** The entry as stored now (owner null when there is none). */
  async read(): Promise<ChannelOwnerChange> {
    const entry = await this.kv.get(DEVICE_GATEWAY_OWNER_KEY);
    return entry === null ? { owner: null, revision: 0 } : toChange(entry);
  }

  /** Changes made after the call (not the current value: `read` it after starting the watch). */
  async watchChanges(): Promise<ChannelOwnerWatch> {
    const iterator = await this.kv.watch({ key: DEVICE_GATEWAY_OWNER_KEY, include: KvWatchInclude.UpdatesOnly });
    return {
      stop: () => iterator.stop(),
      async *[Symbol.asyncIterator]() {
        for await (const entry of iterator) yield toChange(entry);
      },
    };
  }

  /** Deletes the bucket and everything in it (tests, namespace resets). */
  async destroy(): Promise<void> {
    await this.kv.destroy();
  }
}

export interface ChannelOwnerWatch extends AsyncIterable<ChannelOwnerChange> {
  stop(): void;
}

/** A watch must outlive a malformed entry, so it reports it instead of throwing. Deletes and purges read as no owner. */
function toChange(entry: KvEntry): ChannelOwnerChange {
  if (entry.operation !== 'PUT') return { owner: null, revision: entry.revision };
  try {
    return { owner: ChannelOwner.parse(entry.json()), revision: entry.revision };
  } catch (error) {
    return { owner: null, revision: entry.revision, invalid: String(error) };
  }
}

export type ChannelOwnerListener = (owner: ChannelOwner | null) => void;

/**
 * The current channel owner, mirrored in memory for the edge's hot path (every device upgrade
 * asks where to go). Complete once `start()` resolves; afterwards it trails the bucket by the
 * watch's latency. Before `start()` resolved, and after `stop()`, it knows no owner.
 */
export class ChannelOwnerCache {
  private owner: ChannelOwner | null = null;
  private revision = 0;
  private readonly listeners = new Set<ChannelOwnerListener>();
  private watch: ChannelOwnerWatch | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private requestStop!: () => void;
  private readonly stopRequested = new Promise<void>((resolve) => (this.requestStop = resolve));

  constructor(
    private readonly directory: ChannelOwnerDirectory,
    private readonly logger: Logger,
  ) {}

  /** Resolves once the current owner (or its absence) is known. */
  async start(): Promise<void> {
    if (this.running) throw new Error('channel owner cache already started');
    const watch = await this.load();
    // A watch that ends or fails is replaced: watch, then read again.
    this.running = followWatch({
      what: 'channel owner watch',
      first: watch,
      apply: (change) => this.apply(change),
      reopen: () => this.load(),
      isStopped: () => this.stopped,
      stopRequested: this.stopRequested,
      logger: this.logger,
    });
  }

  /** The owner's device gateway URL, null when no owner is known. */
  current(): string | null {
    return this.owner?.deviceGatewayUrl ?? null;
  }

  currentOwner(): ChannelOwner | null {
    return this.owner;
  }

  /** Called with the new owner (null: none) whenever it changes. */
  onChange(listener: ChannelOwnerListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.requestStop();
    this.watch?.stop();
    await this.running;
    this.listeners.clear();
    this.owner = null;
  }

  /**
   * Watches first, then reads: a change made between the two is both read and watched, and the
   * revision check keeps only the newer one, so nothing is missed.
   */
  private async load(): Promise<ChannelOwnerWatch> {
    const watch = await this.directory.watchChanges();
    this.watch = watch;
    try {
      this.apply(await this.directory.read(), true);
    } catch (error) {
      watch.stop();
      throw error;
    }
    return watch;
  }

  /**
   * `read`: the entry as read after (re)starting the watch, taken as it is (a bucket recreated
   * meanwhile starts its revisions over); watched changes count only when newer than what is held.
   */
  private apply(change: ChannelOwnerChange, read = false): void {
    if (!read && change.revision <= this.revision) return;
    this.revision = change.revision;
    if (change.invalid !== undefined) {
      this.logger.warn({ revision: change.revision, reason: change.invalid }, 'malformed channel owner entry; no owner known');
    }
    const before = this.owner;
    this.owner = change.owner;
    if (sameOwner(before, change.owner)) return;
    this.logger.info({ owner: change.owner }, 'channel owner changed');
    for (const listener of this.listeners) {
      try {
        listener(change.owner);
      } catch (error) {
        this.logger.error({ err: error }, 'channel owner listener threw');
      }
    }
  }
}

function sameOwner(left: ChannelOwner | null, right: ChannelOwner | null): boolean {
  if (left === null || right === null) return left === right;
  return left.ownerId === right.ownerId && left.deviceGatewayUrl === right.deviceGatewayUrl && left.since === right.since;
}
