import type { Db } from '@reach/database';
import { authenticateApiUser, authenticateBearer, type Account } from './accounts.repository';
import { hashApiKey } from './api-key';
import { findNumber, type ProvisionedNumber } from './numbers.repository';
import { findSender, type RegisteredSender } from './senders.repository';

/** The lookups the directory fronts; the database implementation is `databaseAccountSource`. */
export interface AccountSource {
  authenticateBearer(presentedKey: string): Promise<Account | null>;
  authenticateApiUser(apiUser: string, presentedKey: string): Promise<Account | null>;
  findNumber(e164: string): Promise<ProvisionedNumber | null>;
  findSender(accountId: string, sender: string): Promise<RegisteredSender | null>;
}

export function databaseAccountSource(db: Db): AccountSource {
  return {
    authenticateBearer: (presentedKey) => authenticateBearer(db, presentedKey),
    authenticateApiUser: (apiUser, presentedKey) => authenticateApiUser(db, apiUser, presentedKey),
    findNumber: (e164) => findNumber(db, e164),
    findSender: (accountId, sender) => findSender(db, accountId, sender),
  };
}

export interface AccountDirectoryOptions {
  /** How long a found account, number or sender id is trusted (default 30 s). */
  readonly positiveTtlMs?: number;
  /** How long "no such key / number / sender id" is trusted (default 5 s). */
  readonly negativeTtlMs?: number;
  /** Entries per kind (bearer keys, ApiUser pairs, numbers, sender ids); the oldest-used go first. */
  readonly maxEntries?: number;
  /** Milliseconds clock; injected so tests need no fake timers. */
  readonly now?: () => number;
}

/**
 * In-process read-through cache for the API gateway's hot path.
 *
 * Staleness is bounded by the TTLs: a revoked key or a suspended account may still be served
 * from cache for up to `positiveTtlMs`, and a newly created key, number or sender id may be
 * reported unknown for up to `negativeTtlMs` (call `clear()` to drop everything at once). Keys are
 * cached under their SHA-256 digest, never in plaintext. Failures of the source are not cached,
 * and concurrent misses for one entry share a single lookup.
 */
export class AccountDirectory {
  private readonly bearer: TtlCache<Account>;
  private readonly apiUsers: TtlCache<Account>;
  private readonly numbers: TtlCache<ProvisionedNumber>;
  private readonly senders: TtlCache<RegisteredSender>;

  static fromDatabase(db: Db, options: AccountDirectoryOptions = {}): AccountDirectory {
    return new AccountDirectory(databaseAccountSource(db), options);
  }

  constructor(
    private readonly source: AccountSource,
    options: AccountDirectoryOptions = {},
  ) {
    const settings: TtlCacheSettings = {
      positiveTtlMs: options.positiveTtlMs ?? 30_000,
      negativeTtlMs: options.negativeTtlMs ?? 5_000,
      maxEntries: options.maxEntries ?? 10_000,
      now: options.now ?? Date.now,
    };
    if (!(settings.maxEntries >= 1)) throw new RangeError('maxEntries must be at least 1');
    this.bearer = new TtlCache(settings);
    this.apiUsers = new TtlCache(settings);
    this.numbers = new TtlCache(settings);
    this.senders = new TtlCache(settings);
  }

  authenticateBearer(presentedKey: string): Promise<Account | null> {
    return this.bearer.get(hashApiKey(presentedKey).toString('hex'), () => this.source.authenticateBearer(presentedKey));
  }

  authenticateApiUser(apiUser: string, presentedKey: string): Promise<Account | null> {
    // The digest has a fixed length, so the pair's cache key is unambiguous whatever apiUser holds.
    const cacheKey = `${hashApiKey(presentedKey).toString('hex')}${apiUser}`;
    return this.apiUsers.get(cacheKey, () => this.source.authenticateApiUser(apiUser, presentedKey));
  }

  findNumber(e164: string): Promise<ProvisionedNumber | null> {
    return this.numbers.get(e164, () => this.source.findNumber(e164));
  }

  /** Case-sensitive, like `findSender`: the registered spelling is the only one that matches. */
  findSender(accountId: string, sender: string): Promise<RegisteredSender | null> {
    // JSON keeps the pair unambiguous whatever characters either part holds.
    return this.senders.get(JSON.stringify([accountId, sender]), () => this.source.findSender(accountId, sender));
  }

  /** Forgets everything, including lookups still in flight. */
  clear(): void {
    this.bearer.clear();
    this.apiUsers.clear();
    this.numbers.clear();
    this.senders.clear();
  }

  get size(): { bearer: number; apiUsers: number; numbers: number; senders: number } {
    return { bearer: this.bearer.size, apiUsers: this.apiUsers.size, numbers: this.numbers.size, senders: this.senders.size };
  }
}

interface TtlCacheSettings {
  readonly positiveTtlMs: number;
  readonly negativeTtlMs: number;
  readonly maxEntries: number;
  readonly now: () => number;
}

interface Entry<V> {
  readonly value: V | null;
  readonly expiresAt: number;
}

/** A Map keeps insertion order: re-inserting on every hit makes its first key the least recently used. */
class TtlCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private readonly inFlight = new Map<string, Promise<V | null>>();
  /** Bumped by `clear()` so lookups that started before it do not refill the cache. */
  private generation = 0;

  constructor(private readonly settings: TtlCacheSettings) {}

  get size(): number {
    return this.entries.size;
  }

  async get(key: string, load: () => Promise<V | null>): Promise<V | null> {
    const entry = this.entries.get(key);
    if (entry) {
      this.entries.delete(key);
      if (entry.expiresAt > this.settings.now()) {
        this.entries.set(key, entry);
        return entry.value;
      }
    }
    const pending = this.inFlight.get(key);
    if (pending) return pending;
    const generation = this.generation;
    const lookup = load().then(
      (value) => {
        if (this.generation === generation) {
          this.inFlight.delete(key);
          this.store(key, value);
        }
        return value;
      },
      (error: unknown) => {
        if (this.generation === generation) this.inFlight.delete(key);
        throw error;
      },
    );
    this.inFlight.set(key, lookup);
    return lookup;
  }

  clear(): void {
    this.generation += 1;
    this.entries.clear();
    this.inFlight.clear();
  }

  private store(key: string, value: V | null): void {
    const ttl = value === null ? this.settings.negativeTtlMs : this.settings.positiveTtlMs;
    if (ttl <= 0) return;
    while (this.entries.size >= this.settings.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
    this.entries.set(key, { value, expiresAt: this.settings.now() + ttl });
  }
}
