/**
 * Reassembly of concatenated MO messages by UDH reference. Parts may arrive in any order;
 * incomplete messages are forgotten after `ttlMs` (checked on each call, no timers) so a lost
 * part cannot grow memory without bound.
 *
 * Each part can carry a token (the bind keeps the part's deliver_sm acknowledgement there): the
 * tokens of every part come back with the whole message, so the SMSC hears "received" for each
 * part only once the whole message is recorded; `releaseStale` hands out the tokens of parts held
 * too long (the SMSC would otherwise time the deliver_sm out).
 */

export interface ConcatenationInfo {
  readonly reference: number;
  readonly total: number;
  readonly seq: number;
}

/** Finds the concatenation IE (0x00: 8-bit reference, 0x08: 16-bit reference) in decoded UDH IEs. */
export function concatenationInfo(udh: readonly Buffer[] | undefined): ConcatenationInfo | null {
  for (const ie of udh ?? []) {
    if (ie[0] === 0x00 && ie[1] === 3 && ie.length >= 5) return { reference: ie[2] ?? 0, total: ie[3] ?? 0, seq: ie[4] ?? 0 };
    if (ie[0] === 0x08 && ie[1] === 4 && ie.length >= 6) return { reference: ie.readUInt16BE(2), total: ie[4] ?? 0, seq: ie[5] ?? 0 };
  }
  return null;
}

export interface ReassembledMessage<T> {
  readonly text: string;
  /** The tokens of every part not yet released, in arrival order. */
  readonly tokens: readonly T[];
  /** When the first part arrived. */
  readonly firstSeen: number;
}

interface Pending<T> {
  readonly firstSeen: number;
  readonly total: number;
  readonly texts: Map<number, string>;
  tokens: { readonly token: T; readonly at: number }[];
}

export class MoReassembler<T = undefined> {
  private readonly pending = new Map<string, Pending<T>>();
  /** Tokens of messages evicted during `add`, handed out by the next `releaseStale`. */
  private readonly orphans: T[] = [];

  constructor(private readonly ttlMs: number) {}

  /** Adds a part; returns the whole message once every part is in, otherwise null. */
  add(key: string, info: ConcatenationInfo, text: string, now: number, token: T): ReassembledMessage<T> | null {
    const evicted = this.evict(now);
    if (info.total < 1 || info.seq < 1 || info.seq > info.total) return { text, tokens: [token], firstSeen: now };
    const id = `${key}\u0000${info.reference}\u0000${info.total}`;
    const entry = this.pending.get(id) ?? { firstSeen: now, total: info.total, texts: new Map<number, string>(), tokens: [] };
    entry.texts.set(info.seq, text);
    entry.tokens.push({ token, at: now });
    if (entry.texts.size < entry.total) {
      this.pending.set(id, entry);
      this.orphans.push(...evicted);
      return null;
    }
    this.pending.delete(id);
    this.orphans.push(...evicted);
    return {
      text: Array.from({ length: entry.total }, (_, i) => entry.texts.get(i + 1) ?? '').join(''),
      tokens: entry.tokens.map((t) => t.token),
      firstSeen: entry.firstSeen,
    };
  }

  /**
   * Tokens of parts held longer than `holdMs` (they stay in the reassembly until the ttl) and of
   * messages forgotten after the ttl. Each token is handed out once.
   */
  releaseStale(now: number, holdMs: number): T[] {
    const released = [...this.orphans, ...this.evict(now)];
    this.orphans.length = 0;
    for (const entry of this.pending.values()) {
      released.push(...entry.tokens.filter((t) => now - t.at >= holdMs).map((t) => t.token));
      entry.tokens = entry.tokens.filter((t) => now - t.at < holdMs);
    }
    return released;
  }

  /** Incomplete messages held. */
  get size(): number {
    return this.pending.size;
  }

  /** Tokens not yet handed out (parts waiting for their message to complete). */
  get heldTokens(): number {
    let count = this.orphans.length;
    for (const entry of this.pending.values()) count += entry.tokens.length;
    return count;
  }

  private evict(now: number): T[] {
    const released: T[] = [];
    for (const [id, entry] of this.pending) {
      if (now - entry.firstSeen > this.ttlMs) {
        this.pending.delete(id);
        released.push(...entry.tokens.map((t) => t.token));
      }
    }
    return released;
  }
}
