/**
 * Warm access tokens in memory, so a warm `/api/token` makes no Secret Store request. Bounded in
 * bytes (least recently used entries go first), never served past the token's refresh margin, and
 * invalidated by every write, refresh, disconnect and deauthorization of its connection — on
 * other instances too, through the storage's change notices (PostgreSQL LISTEN/NOTIFY); it caches
 * nothing while those may be missed. A read that overlapped an invalidation of its connection is
 * not cached (`ticket`), so a disconnect can never be undone by a read that started before it;
 * tickets are per connection (in buckets), so one tenant's changes never stop another's caching.
 * "Not connected" is kept a few seconds too, so a user without a connection costs no store reads.
 * Nothing in it is ever logged.
 */
import type { AccessPayload } from '../../src/common/token-layout';

/** Invalidation counters: a connection's ticket is its bucket's count and the count of "everything". */
const BUCKETS = 4096;

/** How long "not connected" is answered from memory (seconds). */
export const NOT_CONNECTED_SECONDS = 5;

type Entry = { access: AccessPayload | null; dueAt: number; bytes: number };

/**
 * What an entry costs beside its strings: the Map slot, the entry and payload objects, the
 * strings' headers and the pieces the key was joined from. Measured on Node 20, x64: 180 to 330
 * bytes (a "not connected" entry, with no payload, less); counted high, so the bound errs safe.
 */
const ENTRY_OVERHEAD_BYTES = 400;

/**
 * An entry's approximate heap size: the key and the payload's strings (token, type, scope) at a
 * byte a character — they are ASCII, which V8 stores a byte a character — plus the overhead above.
 */
export function entryBytes(key: string, access: AccessPayload | null): number {
  let chars = key.length;
  for (const value of Object.values(access ?? {})) if (typeof value === 'string') chars += value.length;
  return ENTRY_OVERHEAD_BYTES + chars;
}

/** FNV-1a: cheap on the warm path, and a collision only costs a skipped cache write. */
function bucketOf(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % BUCKETS;
}

export class AccessCache {
  private readonly entries = new Map<string, Entry>();
  private readonly invalidations = new Uint32Array(BUCKETS);
  private epoch = 0;
  private live = true;
  private totalBytes = 0;

  /** `maxBytes` of entries at most (`entryBytes`); 0 turns the cache off. */
  constructor(private readonly maxBytes: number) {}

  /** The cached token (null: known not to be connected) while `now` is before its due time. */
  get(key: string, now: number): AccessPayload | null | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry); // most recently used last
    return now < entry.dueAt ? entry.access : undefined;
  }

  /**
   * The token last cached for the connection even once it is due (until the connection changes):
   * the refresh then needs no read to learn that it is due, or which generation it is.
   */
  lastKnown(key: string): AccessPayload | undefined {
    return this.entries.get(key)?.access ?? undefined;
  }

  /** Taken before reading the store; `set` with it caches only if the connection was not invalidated since. */
  ticket(key: string): string {
    return `${this.epoch}:${this.invalidations[bucketOf(key)]}`;
  }

  /** An entry bigger than the whole bound is not cached (it would only empty the cache). */
  set(key: string, access: AccessPayload | null, dueAt: number, ticket: string): void {
    if (!this.live || ticket !== this.ticket(key)) return;
    this.remove(key);
    const bytes = entryBytes(key, access);
    if (bytes > this.maxBytes) return;
    this.entries.set(key, { access, dueAt, bytes });
    this.totalBytes += bytes;
    for (const oldest of this.entries.keys()) {
      if (this.totalBytes <= this.maxBytes) break;
      this.remove(oldest);
    }
  }

  private remove(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.totalBytes -= entry.bytes;
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
    if (key === undefined) {
      this.epoch++;
      this.entries.clear();
      this.totalBytes = 0;
    } else {
      this.invalidations[bucketOf(key)]++;
      this.remove(key);
    }
  }

  get size(): number {
    return this.entries.size;
  }

  /** The entries' bytes as `entryBytes` counts them: never above the bound. */
  get bytes(): number {
    return this.totalBytes;
  }
}
