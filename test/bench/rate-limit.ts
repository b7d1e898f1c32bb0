/**
 * The benchmark's rate-limit scenario: N connections come due together while the Secret Store
 * answers 429 beyond R requests a second (the rate-limited proxy, a process of its own, in front
 * of the emulator). Connections are made on the unlimited store, then a backend started as in
 * production works behind the limit with its budget; every user calls `/api/token` (honouring
 * Retry-After) until it holds a refreshed token, and then until the Secret Store holds each new
 * token (served from the outbox, a token can be ahead of its writes). The physical minimum is
 * N × 3 requests ÷ R.
 */
import { SECRET_NAMES } from '../../src/common/token-layout';
import { createStripeClient } from '../../server/stripe-client';
import { startCommand } from '../support/commands';
import { refreshCount, startTestProvider } from '../support/dev-provider';
import { KEYS, newUser, sleep, type User } from '../support/fixtures';
import { backendEnv, DASHBOARD_REDIRECT, startBackendProcess } from '../support/fleet';
import { call, connect } from '../support/signed-calls';

export interface DueScenario {
  emulatorUrl: string;
  dataDir: string;
  connections: number;
  storePerSecond: number;
  budgetPerSecond: number;
  /** Access tokens live this long: long enough that all are made before the first is due. */
  accessTtl: number;
  env: Record<string, string>;
}

/** Runs `work` over `items`, `parallel` at a time. */
async function each<T>(items: T[], parallel: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < items.length) await work(items[next++]);
  }));
}

export async function dueAtOnce(s: DueScenario): Promise<string> {
  const stopping: Array<{ stop: () => Promise<unknown> }> = [];
  try {
    const provider = await startTestProvider(['--access-ttl', String(s.accessTtl)]);
    stopping.push(provider);
    const parts = { emulatorUrl: s.emulatorUrl, provider };
    const users: User[] = Array.from({ length: s.connections }, () => newUser('due'));
    const setup = await startBackendProcess(backendEnv(parts, { ...s.env, DATA_DIR: s.dataDir, SECRET_STORE_REQUESTS_PER_SECOND: '10000' }));
    await each(users, 8, async (user) => {
      const answer = await connect(parts, setup, user, { redirectUri: DASHBOARD_REDIRECT });
      if (answer.status !== 200) throw new Error(`connect: ${answer.status} ${answer.body.error?.code}`);
    });
    const lastMade = Date.now();
    await setup.stop();

    const store = await startCommand('test/support/rate-limited-store-cli.ts', ['--target', s.emulatorUrl, '--per-second', String(s.storePerSecond)]);
    stopping.push(store);
    const backend = await startBackendProcess(backendEnv(parts, { ...s.env, DATA_DIR: s.dataDir, STRIPE_API_BASE: store.url, SECRET_STORE_REQUESTS_PER_SECOND: String(s.budgetPerSecond) }));
    stopping.push(backend);
    // Each user's token as it is now, read straight from the emulator.
    const direct = createStripeClient(KEYS.test, { apiBase: s.emulatorUrl, maxNetworkRetries: 2 });
    const before = new Map<string, string>();
    await each(users, 16, async (user) => {
      const secret = await direct.apps.secrets.find({ name: SECRET_NAMES.access, scope: { type: 'user', user: user.user_id }, expand: ['payload'] }, { stripeAccount: user.account_id });
      before.set(user.user_id, JSON.parse(secret.payload!).access_token);
    });
    // Every token is due once the last one made is (its refresh margin is half its lifetime).
    await sleep(Math.max(0, lastMade + (s.accessTtl / 2 + 1) * 1000 - Date.now()));
    const stats = async () => (await (await fetch(`${store.url}/_proxy/stats`)).json()) as { forwarded: number; refused: number };
    const [startStats, startRefreshes] = [await stats(), await refreshCount(parts)];
    const started = Date.now();
    let served = 0;
    await Promise.all(users.map(async (user) => {
      for (;;) {
        const answer = await call(backend, '/api/token', user);
        if (answer.status === 200 && answer.body.access_token !== before.get(user.user_id)) break;
        if (answer.status !== 200 && answer.status !== 503) throw new Error(`/api/token: ${answer.status} ${answer.body.error?.code}`);
        await sleep(answer.status === 503 ? Number(answer.headers.get('retry-after') ?? 1) * 1000 : 1000);
      }
      served++;
    }));
    const seconds = (Date.now() - started) / 1000;
    const refreshes = (await refreshCount(parts)) - startRefreshes;
    // A token is served once it is safe in the outbox; the Secret Store holds it once its writes went through.
    const stored = async (user: User) => {
      const secret = await direct.apps.secrets.find({ name: SECRET_NAMES.access, scope: { type: 'user', user: user.user_id }, expand: ['payload'] }, { stripeAccount: user.account_id })
        .catch((err: { statusCode?: number }) => {
          // The old access secret expired and the new one is not written yet.
          if (err.statusCode === 404) return undefined;
          throw err;
        });
      return secret !== undefined && JSON.parse(secret.payload!).access_token !== before.get(user.user_id);
    };
    let waiting = users;
    while (waiting.length > 0 && Date.now() - started < 600_000) {
      const checked = await Promise.all(waiting.slice(0, 50).map(async (user) => ((await stored(user)) ? undefined : user)));
      const still = checked.filter((u): u is User => u !== undefined);
      waiting = [...still, ...waiting.slice(50)];
      if (still.length > 0) await sleep(1000);
    }
    const storedSeconds = (Date.now() - started) / 1000;
    const endStats = await stats();
    const minimum = (s.connections * 3) / s.storePerSecond;
    return `due ${s.connections} at ${s.storePerSecond} req/s (budget ${s.budgetPerSecond}): all ${served} served in ${seconds.toFixed(0)} s, `
      + `${waiting.length === 0 ? `all stored in the Secret Store in ${storedSeconds.toFixed(0)} s` : `${waiting.length} still not stored after 600 s`} (physical minimum ${minimum.toFixed(0)} s), `
      + `429 answers ${endStats.refused - startStats.refused}, requests per refresh ${((endStats.forwarded - startStats.forwarded) / refreshes).toFixed(2)} (${refreshes} refreshes)`;
  } finally {
    for (const part of stopping.reverse()) await part.stop().catch(() => undefined);
  }
}
