/**
 * `node --max-old-space-size=64 --expose-gc --import tsx test/support/access-cache-heap.ts N`: what
 * a backend holds in memory for N connections, in one process with a small heap. Each connection's
 * access token is read (decoded from its stored payload) and cached with the default bound for
 * this heap, and its token route's request-count windows are taken, as a warm /api/token does;
 * tokens are 40 to 1000 characters, one in ten a 1 to 2 KB JWT. A hot set of connections is used
 * all along. Prints one JSON line, no token: the cache's bound, bytes and size, the heap its
 * entries took (what clearing it frees), and how many hot and most recent connections still hit.
 */
import { randomBytes } from 'node:crypto';
import { getHeapStatistics } from 'node:v8';
import '../../server/backend'; // a backend's code in the heap too, as in a real one
import { AccessCache } from '../../server/broker/access-cache';
import { DEFAULTS } from '../../server/broker/defaults';
import { countedRequest } from '../../server/http/limits';
import { MemoryRequestCounts } from '../../server/storage/memory-request-counts';
import { connectionKey, type DashboardUserId } from '../../src/common/connection-id';
import { decodeAccess, encodePayload, SECRET_NAMES } from '../../src/common/token-layout';

const count = Number(process.argv[2]);
const HOT = 20;
const RECENT = 1000;
const now = Math.floor(Date.now() / 1000);
const gc = () => (global.gc!(), global.gc!());
const heapUsed = () => (gc(), process.memoryUsage().heapUsed);
const chars = (n: number) => randomBytes(n).toString('base64url').slice(0, n);

/** Opaque tokens of 40 to 1000 characters; every tenth a JWT of 1 to 2 KB. */
function token(i: number): string {
  if (i % 10 === 0) return `${chars(36)}.${chars(600 + ((i * 7919) % 1100))}.${chars(342)}`;
  return chars(40 + ((i * 7919) % 961));
}

// Held at the top, as a backend holds them for its life (a dead local could be collected before the measurement).
const cache = new AccessCache(DEFAULTS.cacheBytes);
const counts = new MemoryRequestCounts();

async function main(): Promise<void> {
  const keys: string[] = [];
  for (let i = 0; i < count; i++) {
    const connection: DashboardUserId = { mode: 'test', accountId: `acct_${chars(16).replace(/[-_]/g, 'x')}`, userId: `usr_${chars(14).replace(/[-_]/g, 'x')}` };
    const key = connectionKey(connection);
    await counts.take(countedRequest('token', DEFAULTS.limits.token, { signer: connection, signedAt: now, validUntil: now + 360 }));
    const access = decodeAccess(encodePayload(SECRET_NAMES.access, { v: 1, access_token: token(i), token_type: 'Bearer', scope: 'read write', issued_at: now, expires_at: now + 3600, generation: 1 }));
    cache.set(key, access, now + 3300, cache.ticket(key));
    if (i < HOT || i >= count - RECENT) keys.push(key);
    if (i % 50 === 0) for (const hot of keys.slice(0, HOT)) cache.get(hot, now);
  }
  const filled = heapUsed();
  const hits = (list: string[]) => list.filter((key) => cache.get(key, now) !== undefined).length;
  const report = {
    heapLimit: getHeapStatistics().heap_size_limit,
    bound: DEFAULTS.cacheBytes,
    bytes: cache.bytes,
    size: cache.size,
    hotHits: hits(keys.slice(0, HOT)),
    recentHits: hits(keys.slice(HOT)),
    cacheHeap: 0,
  };
  cache.invalidate();
  report.cacheHeap = filled - heapUsed();
  console.log(JSON.stringify(report));
}

void main();
