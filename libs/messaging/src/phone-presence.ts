import type { JetStreamClient, KV, KvEntry } from 'nats';
import type { Logger } from 'pino';
import { PhonePresence, presenceKey, type NatsNames } from '@reach/contracts';
import { followWatch } from './watch-follower';

/**
 * A change to one number's presence. `presence` null means the number is unknown again: its
 * entry was deleted, or (with `invalid` saying why) its value does not parse.
 */
export interface PresenceChange {
  readonly e164: string;
  readonly presence: PhonePresence | null;
  readonly revision: number;
  readonly invalid?: string;
}

const e164Pattern = /^\+[1-9]\d{6,14}$/;

/** Which numbers' (simulated or device) phones are online: the presence KV bucket. */
export class PhonePresenceStore {
  constructor(readonly kv: KV) {}

  /** Binds to the bucket `ensureTopology` created; fails with a clear message when it is missing. */
  static async open(js: JetStreamClient, names: NatsNames): Promise<PhonePresenceStore> {
    try {
      const kv = await js.views.kv(names.presenceBucket, { bindOnly: true });
      // Binding does not look at the server; the status call fails when the bucket is missing.
      await kv.status();
      return new PhonePresenceStore(kv);
    } catch (error) {
      throw new Error(`presence bucket ${names.presenceBucket} is not available (run ensureTopology first): ${String(error)}`, {
        cause: error,
      });
    }
  }

  /** Records that the number's phone went online or offline at `now`; returns the entry's revision. */
  async set(e164: string, online: boolean, now: Date): Promise<number> {
    const value: PhonePresence = { online, changedAt: now.toISOString() };
    return this.kv.put(keyOf(e164), JSON.stringify(PhonePresence.parse(value)));
  }

  async get(e164: string): Promise<PhonePresence | null> {
    const entry = await this.kv.get(keyOf(e164));
    return entry === null ? null : decodeEntry(entry);
  }

  /** Forgets the number: it counts as unknown again (online by default). */
  async delete(e164: string): Promise<void> {
    await this.kv.delete(keyOf(e164));
  }

  /**
   * Current values, then every change. `onInitialized` runs once the current values have all
   * been yielded. `resumeFromRevision` restarts a watch after the last revision seen.
   */
  async watch(options: { onInitialized?: () => void; resumeFromRevision?: number } = {}): Promise<PresenceWatch> {
    const watchOptions: Parameters<KV['watch']>[0] = {};
    if (options.onInitialized) watchOptions.initializedFn = options.onInitialized;
    if (options.resumeFromRevision !== undefined) watchOptions.resumeFromRevision = options.resumeFromRevision;
    const iterator = await this.kv.watch(watchOptions);
    return {
      stop: () => iterator.stop(),
      async *[Symbol.asyncIterator]() {
        for await (const entry of iterator) {
          yield toChange(entry);
        }
      },
    };
  }
}

export interface PresenceWatch extends AsyncIterable<PresenceChange> {
  stop(): void;
}

function keyOf(e164: string): string {
  if (!e164Pattern.test(e164)) throw new Error(`not an E.164 number: ${e164}`);
  return presenceKey(e164);
}

/** Deletes and purges read as unknown. */
function decodeEntry(entry: KvEntry): PhonePresence | null {
  if (entry.operation !== 'PUT') return null;
  return PhonePresence.parse(entry.json());
}

/** A watch must outlive a malformed entry, so it reports it instead of throwing. */
function toChange(entry: KvEntry): PresenceChange {
  const e164 = `+${entry.key}`;
  try {
    return { e164, presence: decodeEntry(entry), revision: entry.revision };
  } catch (error) {
    return { e164, presence: null, revision: entry.revision, invalid: String(error) };
  }
}

export type PresenceListener = (change: PresenceChange) => void;

/**
 * An in-memory, watch-fed copy of the presence bucket for the hot path (every send asks
 * whether the recipient's phone is online). Complete once `start()` resolves; afterwards it
 * trails the bucket by the watch's latency. A number with no entry counts as online: a new
 * number's simulated phone starts online.
 */
export class PresenceCache {
  private readonly entries = new Map<string, PhonePresence>();
  private readonly listeners = new Set<PresenceListener>();
  private watch: PresenceWatch | null = null;
  private running: Promise<void> | null = null;
  private started = false;
  private stopped = false;
  private requestStop!: () => void;
  private readonly stopRequested = new Promise<void>((resolve) => (this.requestStop = resolve));
  private lastRevision = 0;

  constructor(
    private readonly store: PhonePresenceStore,
    private readonly logger: Logger,
    private readonly options: { initialLoadTimeoutMs?: number } = {},
  ) {}

  /** Resolves once every current entry is loaded. */
  async start(): Promise<void> {
    if (this.running) throw new Error('presence cache already started');
    let initialized!: () => void;
    const loaded = new Promise<void>((resolve) => (initialized = resolve));
    this.watch = await this.store.watch({ onInitialized: () => initialized() });
    // A watch that ends on its own is resumed after the last revision applied.
    this.running = followWatch({
      what: 'presence watch',
      first: this.watch,
      apply: (change) => this.apply(change),
      reopen: async () => {
        this.watch = await this.store.watch({ resumeFromRevision: this.lastRevision + 1 });
        return this.watch;
      },
      isStopped: () => this.stopped,
      stopRequested: this.stopRequested,
      logger: this.logger,
    });
    const timeoutMs = this.options.initialLoadTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`presence bucket not loaded within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([loaded, timedOut]);
    } catch (error) {
      await this.stop();
      throw error;
    } finally {
      clearTimeout(timer);
    }
    this.started = true;
  }

  isOnline(e164: string, defaultWhenUnknown = true): boolean {
    if (!this.started) throw new Error('presence cache read before start() resolved');
    return this.entries.get(presenceKey(e164))?.online ?? defaultWhenUnknown;
  }

  /** The cached entry, null when the number has none. */
  get(e164: string): PhonePresence | null {
    if (!this.started) throw new Error('presence cache read before start() resolved');
    return this.entries.get(presenceKey(e164)) ?? null;
  }

  /** Numbers (E.164) whose phone is recorded offline; every other number counts as online. */
  offlineNumbers(): string[] {
    if (!this.started) throw new Error('presence cache read before start() resolved');
    return [...this.entries].filter(([, presence]) => !presence.online).map(([key]) => `+${key}`);
  }

  /** Called for every change the cache applies (during start, for every current entry too). */
  onChange(listener: PresenceListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.requestStop();
    this.watch?.stop();
    await this.running;
    this.listeners.clear();
  }

  private apply(change: PresenceChange): void {
    this.lastRevision = Math.max(this.lastRevision, change.revision);
    if (change.invalid !== undefined) {
      this.logger.warn({ e164: change.e164, revision: change.revision, reason: change.invalid }, 'malformed presence entry; number treated as unknown');
    }
    const key = presenceKey(change.e164);
    if (change.presence === null) this.entries.delete(key);
    else this.entries.set(key, change.presence);
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch (error) {
        this.logger.error({ err: error, e164: change.e164 }, 'presence listener threw');
      }
    }
  }
}
