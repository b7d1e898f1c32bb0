/**
 * The access-token cache is bounded by memory: least recently used entries go once the entries'
 * bytes pass the bound, and with the default bound a small heap holds a backend's 50,000
 * connections (run in a child process with that heap: test/support/access-cache-heap.ts).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { AccessCache, entryBytes } from '../../server/broker/access-cache';
import { cacheShare } from '../../server/broker/defaults';
import type { AccessPayload } from '../../src/common/token-layout';
import { children, ROOT } from '../support/commands';

const NOW = 1_760_000_000;
const payload = (tokenChars: number): AccessPayload => ({ v: 1, access_token: 'a'.repeat(tokenChars), token_type: 'Bearer', issued_at: NOW, expires_at: NOW + 3600, generation: 1 });

test('eviction by size: least recently used entries go until the bytes are within the bound; one bigger than the bound is not cached', () => {
  const [small, big] = [payload(100), payload(500)];
  const bound = 3 * entryBytes('test/acct_1/usr_a', small);
  const cache = new AccessCache(bound);
  const put = (key: string, access: AccessPayload) => cache.set(key, access, NOW + 60, cache.ticket(key));
  for (const user of ['a', 'b', 'c']) put(`test/acct_1/usr_${user}`, small);
  expect(cache.size).toBe(3);
  cache.get('test/acct_1/usr_a', NOW); // used: b and c are now the least recently used
  put('test/acct_1/usr_d', big); // more than one small entry, less than two: b and c both go
  expect(['a', 'b', 'c', 'd'].map((user) => cache.get(`test/acct_1/usr_${user}`, NOW) !== undefined)).toEqual([true, false, false, true]);
  expect(cache.bytes).toBe(entryBytes('test/acct_1/usr_a', small) + entryBytes('test/acct_1/usr_d', big));
  expect(cache.bytes).toBeLessThanOrEqual(bound);

  put('test/acct_1/usr_e', payload(bound)); // bigger than the whole bound: the others stay
  expect(cache.get('test/acct_1/usr_e', NOW)).toBeUndefined();
  expect(cache.size).toBe(2);
  cache.invalidate('test/acct_1/usr_d');
  expect(cache.bytes).toBe(entryBytes('test/acct_1/usr_a', small));
  cache.invalidate();
  expect([cache.size, cache.bytes]).toEqual([0, 0]);

  const off = new AccessCache(0);
  off.set('test/acct_1/usr_a', small, NOW + 60, off.ticket('test/acct_1/usr_a'));
  expect(off.size).toBe(0);
});

/** Runs the script under node with `flags`; resolves with its exit and its output. */
function runNode(flags: string[], script: string, args: string[]): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [...flags, '--import', 'tsx', path.join(ROOT, script), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.set(child, expect.getState().currentTestName);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.once('close', (code, signal) => {
    children.delete(child);
    resolve({ code, signal, stdout, stderr });
  }));
}

test('50,000 connections in a 64 MB heap: served without running out of memory, the cache within its bound (in the heap too), recently used entries still hits', async () => {
  const run = await runNode(['--max-old-space-size=64', '--expose-gc'], 'test/support/access-cache-heap.ts', ['50000']);
  expect({ code: run.code, signal: run.signal, stderr: run.stderr.slice(-2000) }).toEqual({ code: 0, signal: null, stderr: '' });
  const report = JSON.parse(run.stdout);
  // The default bound, reached: the cache evicted to stay within it.
  expect(report.bound).toBe(cacheShare(report.heapLimit));
  expect(report.bytes).toBeLessThanOrEqual(report.bound);
  expect(report.bytes).toBeGreaterThan(report.bound - 4096);
  expect(report.size).toBeLessThan(50_000);
  // The bound counts what the entries really take: clearing the cache freed no more than it.
  expect(report.cacheHeap).toBeGreaterThan(0);
  expect(report.cacheHeap).toBeLessThanOrEqual(report.bound);
  expect({ hot: report.hotHits, recent: report.recentHits }).toEqual({ hot: 20, recent: 1000 });
}, 60_000);
