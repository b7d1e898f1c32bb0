/**
 * Warm access tokens in memory, so a warm `/api/token` makes no Secret Store request. Bounded
 * (least recently used entries go first), never served past the token's refresh margin, and
 * invalidated by every write, refresh, disconnect and deauthorization of its connection — on
 * other instances too, through the storage's change notices (PostgreSQL LISTEN/NOTIFY); it caches
 * nothing while those may be missed.
 * A read that overlapped an invalidation is not cached (`ticket`), so a disconnect can never be
 * undone by a read that started before it. Nothing in it is ever logged.
 */
import type { AccessPayload } from '../../src/shared/token-layout';

export class AccessCache {
  private readonly entries = new Map<string, { access: AccessPayload; dueAt: number }>();
  private invalidations = 0;
  private live = true;

  constructor(private readonly maxEntries: number) {}

  /** The cached token while `now` is before its refresh margin. */
  get(key: string, now: number): AccessPayload | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (now >= entry.dueAt) return undefined;
    this.entries.set(key, entry); // most recently used last
    return entry.access;
  }

  /** Taken before reading the store; `set` with it caches only if nothing was invalidated since. */
  ticket(): number {
    return this.invalidations;
  }

  set(key: string, access: AccessPayload, dueAt: number, ticket: number): void {
    if (!this.live || ticket !== this.invalidations || this.maxEntries === 0) return;
    this.entries.delete(key);
    this.entries.set(key, { access, dueAt });
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  /**
   * Whether changes made elsewhere are heard: while they may be missed nothing is cached, and
   * either way the cache starts over empty.
   */
  setLive(live: boolean): void {
    this.live = live;
    this.invalidate();
  }

  /** One connection changed, or (no key) anything may have. */
  invalidate(key?: string): void {
    this.invalidations++;
    if (key === undefined) this.entries.clear();
    else this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}
