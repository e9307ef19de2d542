/**
 * Reassembly of concatenated MO messages by UDH reference. Parts may arrive in any order;
 * incomplete messages are forgotten after `ttlMs` (checked on each arrival, no timers) so a
 * lost part cannot grow memory without bound.
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

interface Pending {
  readonly firstSeen: number;
  readonly total: number;
  readonly texts: Map<number, string>;
}

export class MoReassembler {
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly ttlMs: number) {}

  /** Adds a part; returns the whole text once every part is in, otherwise null. */
  add(key: string, info: ConcatenationInfo, text: string, now: number): string | null {
    this.evict(now);
    if (info.total < 1 || info.seq < 1 || info.seq > info.total) return text;
    const id = `${key}\u0000${info.reference}\u0000${info.total}`;
    const entry = this.pending.get(id) ?? { firstSeen: now, total: info.total, texts: new Map<number, string>() };
    entry.texts.set(info.seq, text);
    if (entry.texts.size < entry.total) {
      this.pending.set(id, entry);
      return null;
    }
    this.pending.delete(id);
    return Array.from({ length: entry.total }, (_, i) => entry.texts.get(i + 1) ?? '').join('');
  }

  get size(): number {
    return this.pending.size;
  }

  private evict(now: number): void {
    for (const [id, entry] of this.pending) if (now - entry.firstSeen > this.ttlMs) this.pending.delete(id);
  }
}
