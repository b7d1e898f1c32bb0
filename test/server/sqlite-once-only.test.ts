/**
 * Once-only claims with SQLite (signature nonces, authorization codes): decided at once, written
 * with the rest of their event-loop turn, and still standing after a restart on the same file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openSqliteStorage } from '../../server/storage/sqlite';

const dir = mkdtempSync(path.join(os.tmpdir(), 'once-only-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = path.join(dir, 'registry.sqlite');
const later = () => Math.floor(Date.now() / 1000) + 300;

test('a claim stands within its turn, after it is written, and after a restart; an expired one can be claimed again', async () => {
  const first = openSqliteStorage(file);
  const [a, again] = await Promise.all([first.onceOnly.claim('nonce:a', later()), first.onceOnly.claim('nonce:a', later())]);
  expect([a, again]).toEqual([true, false]);
  await new Promise((resolve) => setImmediate(resolve));
  expect(await first.onceOnly.claim('nonce:a', later())).toBe(false);
  // Claimed just before the stop: close writes it.
  expect(await first.onceOnly.claim('nonce:b', later())).toBe(true);
  expect(await first.onceOnly.claim('nonce:old', Math.floor(Date.now() / 1000) - 1)).toBe(true);
  await first.close();

  const second = openSqliteStorage(file);
  expect(await second.onceOnly.claim('nonce:a', later())).toBe(false);
  expect(await second.onceOnly.claim('nonce:b', later())).toBe(false);
  expect(await second.onceOnly.claim('nonce:old', later())).toBe(true);
  await second.close();
});
