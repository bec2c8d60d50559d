/** Session stickiness: a session routed to a larger tier stays there for a TTL. Bounded LRU map. */

interface Entry {
  tier: number;
  expiresAt: number;
}

/** Remembers the largest tier each `x-session-id` was routed to. */
export class SessionStore {
  private readonly map = new Map<string, Entry>();

  constructor(private readonly ttlMs: number, private readonly maxEntries: number) {}

  /** The tier this session is pinned to, or undefined (expired entries are dropped). */
  get(id: string, now: number): number | undefined {
    const e = this.map.get(id);
    if (!e) return undefined;
    if (e.expiresAt <= now) {
      this.map.delete(id);
      return undefined;
    }
    // Refresh recency: Map iteration order is insertion order, so re-insert.
    this.map.delete(id);
    this.map.set(id, e);
    return e.tier;
  }

  /** Records that the session was served by `tier`; only tiers above the cheapest pin it. */
  record(id: string, tier: number, now: number): void {
    if (tier <= 0) return;
    const e = this.map.get(id);
    const live = e && e.expiresAt > now ? e.tier : -1;
    if (e) this.map.delete(id);
    this.map.set(id, { tier: Math.max(live, tier), expiresAt: now + this.ttlMs });
    while (this.map.size > this.maxEntries) {
      const oldest = this.map.keys().next().value as string;
      this.map.delete(oldest);
    }
  }

  /** Sessions held. */
  get size(): number {
    return this.map.size;
  }
}
