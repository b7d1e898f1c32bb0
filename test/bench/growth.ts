/**
 * The benchmark's growth table: a backend (started as in production) over 1k, 10k and 100k
 * connections — written straight into a fresh emulator file and registry, as extension mode
 * stores them — measured for start-up, memory once every connection has been served, and warm
 * `/api/token` p50 for one user over and over (hot) against random users.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SECRET_NAMES } from '../../src/common/token-layout';
import { describePolicy } from '../../server/broker/keep-alive-policy';
import { DEFAULTS } from '../../server/broker/defaults';
import { SecretStoreState } from '../../server/local/secret-store/store';
import { CONNECTED } from '../../server/storage/ports';
import { openSqliteStorage } from '../../server/storage/sqlite';
import { startCommand } from '../support/commands';
import type { TestProvider } from '../support/dev-provider';
import { newUser, type User } from '../support/fixtures';
import { backendEnv, startBackendProcess } from '../support/fleet';
import { call } from '../support/signed-calls';

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
const p50 = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function seed(dir: string, users: User[]): Promise<void> {
  const now = Math.floor(Date.now() / 1000);
  const store = new SecretStoreState(path.join(dir, 'secret-store.sqlite'));
  store.transaction(() => {
    for (const [i, u] of users.entries()) {
      const partition = { account: u.account_id, livemode: false, scope: { type: 'user' as const, user: u.user_id } };
      const access = { v: 1, access_token: `growth-access-${i}-${u.user_id}`, token_type: 'bearer', issued_at: now, expires_at: now + 7200, generation: 1 };
      const refresh = { v: 1, refresh_token: `growth-refresh-${i}`, expires_at: null, generation: 1, refreshed_at: now, access_lifetime: 7200 };
      store.insert(partition, { id: `appsecret_g${i}r`, name: SECRET_NAMES.refresh, payload: JSON.stringify(refresh), created: now, expires_at: null });
      store.insert(partition, { id: `appsecret_g${i}a`, name: SECRET_NAMES.access, payload: JSON.stringify(access), created: now, expires_at: access.expires_at });
    }
  });
  store.close();
  const registry = openSqliteStorage(path.join(dir, 'registry.sqlite'));
  await registry.keepAlive.usePolicy(describePolicy({ idleSeconds: DEFAULTS.keepAliveIdleSeconds }));
  for (const u of users) {
    const connection = { accountId: u.account_id, userId: u.user_id, mode: 'test' as const };
    await registry.records.put(connection, { ...CONNECTED, accessExpiresAt: now + 7200, lastRefreshAt: now, sealedWith: '(unsealed)', keepAliveAt: now + 86_400 });
  }
  await registry.close();
}

async function timedCalls(url: string, pick: () => User, n: number): Promise<number> {
  const latencies: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const answer = await call({ url }, '/api/token', pick());
    if (answer.status !== 200) throw new Error(`/api/token: ${answer.status} ${answer.body.error?.code}`);
    latencies.push(performance.now() - t);
  }
  return p50(latencies);
}

export async function growthTable(provider: TestProvider, env: Record<string, string>, sizes: number[]): Promise<string[]> {
  const rows = ['| connections | start-up s | RSS MB (all served) | hot p50 ms | random users p50 ms |', '|---|---|---|---|---|'];
  for (const size of sizes) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'broker-growth-'));
    const users = Array.from({ length: size }, () => newUser('growth'));
    await seed(dir, users);
    const emulator = await startCommand('server/local/secret-store-cli.ts', ['--port', '0', '--data', path.join(dir, 'secret-store.sqlite')]);
    const started = performance.now();
    const backend = await startBackendProcess(backendEnv({ emulatorUrl: emulator.url, provider }, { ...env, DATA_DIR: dir, SECRET_STORE_REQUESTS_PER_SECOND: '10000' }));
    const startup = (performance.now() - started) / 1000;
    try {
      // Each connection served once (its token read, then cached), 20 at a time.
      let next = 0;
      await Promise.all(Array.from({ length: 20 }, async () => {
        while (next < users.length) {
          const answer = await call(backend, '/api/token', users[next++]);
          if (answer.status !== 200) throw new Error(`/api/token: ${answer.status} ${answer.body.error?.code}`);
        }
      }));
      const rss = rssMb(backend.pid);
      const hot = await timedCalls(backend.url, () => users[0], 2000);
      const random = await timedCalls(backend.url, () => users[Math.floor(Math.random() * users.length)], 2000);
      rows.push(`| ${size.toLocaleString('en')} | ${startup.toFixed(2)} | ${rss.toFixed(0)} | ${hot.toFixed(2)} | ${random.toFixed(2)} |`);
    } finally {
      await backend.stop();
      await emulator.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return rows;
}
