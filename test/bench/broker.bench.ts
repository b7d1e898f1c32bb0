/**
 * `npm run bench`: the broker as users run it. The load generator (this process), the backend
 * (`npm run backend`: compiled, a process of its own), the Secret Store emulator and the dev
 * provider each run in their own process, on loopback. Warm `/api/token` is compared side by
 * side with a direct `secrets.find` on the same emulator; Secret Store requests are counted at
 * the emulator; refreshes at the provider. Timing goals live here, never in tests.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { SECRET_NAMES } from '../../src/common/token-layout';
import { createStripeClient } from '../../server/stripe-client';
import { alice, KEYS, newUser, sleep, User } from '../support/fixtures';
import { ApiAnswer, call, connect, sign, withNonce } from '../support/signed-calls';
import { RunningCommand, startCommand } from '../support/commands';
import { refreshCount, startTestProvider, TestProvider } from '../support/dev-provider';
import { backendEnv, DASHBOARD_REDIRECT, startBackendProcess, startPostgres } from '../support/fleet';
import { crashWindow } from './crash-window';
import { growthTable } from './growth';
import { dueAtOnce } from './rate-limit';

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
/** A process's CPU time so far (user + system), in seconds: fields 14 and 15 of /proc/PID/stat, in clock ticks (100 a second on Linux). */
const cpuSeconds = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
};
/** The access tokens live 20 s, so a refresh is due 10 s after it was issued. */
const ACCESS_TTL = 20;
/**
 * The limits a real extension never meets, raised: the bench calls one connection thousands of
 * times a minute. The emulator has no rate limit, so the budget is raised too (the rate-limit
 * scenario sets its own).
 */
const UNLIMITED = {
  SIGNED_ROUTE_LIMITS: 'token=1000000/1000000,proxy=1000000/1000000,register=100000/100000,exchange=100000/100000',
  SECRET_STORE_REQUESTS_PER_SECOND: '10000',
};
/** `npm run bench -- crash-window` runs that scenario alone; BENCH_KILLS sets its number of kills. */
const ONLY = process.argv[2];
const KILLS = Number(process.env.BENCH_KILLS ?? 100);

interface Run {
  n: number;
  perSecond: number;
  p50: number;
  p99: number;
}

async function timed(n: number, concurrency: number, run: () => Promise<void>): Promise<Run> {
  const latencies: number[] = [];
  let started = 0;
  const begin = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (started++ < n) {
      const t = performance.now();
      await run();
      latencies.push(performance.now() - t);
    }
  }));
  const seconds = (performance.now() - begin) / 1000;
  latencies.sort((a, b) => a - b);
  return { n, perSecond: n / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

/** A lean keep-alive HTTP client, the same for both sides, so the comparison measures the servers. */
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
function request(url: string, init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string }): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: init.method, headers: init.headers, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

type Request = { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string };

/**
 * Signed requests as the extension makes them, each with a nonce of its own (a signature is good
 * once), made ahead so the timed runs measure the backend; `next()` hands out the next one.
 */
async function signedPool(user: User, path: string, params: object, size: number): Promise<{ next: () => Request }> {
  const pool: Request[] = [];
  for (let i = 0; i < size; i++) {
    const signed = withNonce(params);
    pool.push({ method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': await sign(user, path, signed) }, body: JSON.stringify({ ...user, ...signed }) });
  }
  let used = 0;
  return {
    next: () => {
      if (used >= pool.length) throw new Error(`the pool of ${pool.length} signed requests ran out`);
      return pool[used++];
    },
  };
}

async function emulatorRequests(url: string): Promise<number> {
  const { requests } = (await (await fetch(`${url}/_emulator/stats`)).json()) as { requests: Record<string, number> };
  return Object.values(requests).reduce((a, b) => a + b, 0);
}

async function main() {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'broker-bench-'));
  const started: Array<{ stop: () => Promise<unknown> }> = [];
  const emulator: RunningCommand = await startCommand('server/local/secret-store-cli.ts', ['--port', '0']);
  started.push(emulator);
  const windowScenario = () => crashWindow({ emulatorUrl: emulator.url, dataDir: path.join(dataDir, 'window'), env: UNLIMITED, kills: KILLS });
  if (ONLY === 'crash-window') {
    try {
      for (const line of await windowScenario()) console.log(line);
    } finally {
      await emulator.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
    return;
  }
  const provider: TestProvider = await startTestProvider(['--access-ttl', String(ACCESS_TTL)]);
  started.push(provider);
  const parts = { emulatorUrl: emulator.url, provider };
  const benchEnv = { LOG_LEVEL: 'warn', OAUTH_API_BASE_URL: `${provider.issuer}/api`, ...UNLIMITED };
  const backend = await startBackendProcess(backendEnv(parts, { ...benchEnv, DATA_DIR: path.join(dataDir, 'one') }));
  started.push(backend);
  const lines: string[] = [];
  const say = (line: string) => {
    lines.push(line);
    console.log(line);
  };
  const ok = (answer: ApiAnswer) => {
    if (answer.status !== 200) throw new Error(`unexpected ${answer.status} ${answer.body.error?.code}`);
  };

  try {
    say(`machine: ${os.cpus().length} × ${os.cpus()[0].model.trim()}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`);
    const idleRss = rssMb(backend.pid);

    // Warm /api/token against a direct secrets.find of the same secret on the same emulator.
    const user = newUser('bench');
    ok(await connect(parts, backend, user, { redirectUri: DASHBOARD_REDIRECT }));
    // 300 warm-up rounds, 3 × (1500 + 6000) timed calls, 1000 counted ones, 10000 for the CPU.
    const tokenRequests = await signedPool(user, '/api/token', {}, 300 + 3 * 7500 + 1000 + 10_000);
    const expect200 = (status: number) => {
      if (status !== 200) throw new Error(`unexpected ${status}`);
    };
    const warm = async () => expect200(await request(`${backend.url}/api/token`, tokenRequests.next()));
    const stripe = createStripeClient(KEYS.test, { apiBase: emulator.url, maxNetworkRetries: 0, stripeAccount: user.account_id });
    const sdk = async () => {
      await stripe.apps.secrets.find({ name: SECRET_NAMES.access, scope: { type: 'user', user: user.user_id }, expand: ['payload'] });
    };
    const findQuery = new URLSearchParams({ name: SECRET_NAMES.access, 'scope[type]': 'user', 'scope[user]': user.user_id, 'expand[0]': 'payload' });
    const findRequest = { method: 'GET' as const, headers: { authorization: `Bearer ${KEYS.test}`, 'stripe-account': user.account_id } };
    const raw = async () => expect200(await request(`${emulator.url}/v1/apps/secrets/find?${findQuery}`, findRequest));
    for (let i = 0; i < 300; i++) {
      await warm();
      await sdk();
      await raw();
    }
    const table = ['| path | concurrency | requests | per second | p50 ms | p99 ms |', '|---|---|---|---|---|---|'];
    const paths = [
      ['direct `stripe.apps.secrets.find` (stripe-node)', sdk],
      ['direct `GET /v1/apps/secrets/find` (raw HTTP)', raw],
      ['warm `POST /api/token` (raw HTTP)', warm],
    ] as const;
    const p50s: Record<number, number[]> = {};
    let loadRss = 0;
    for (const concurrency of [1, 20]) {
      const n = concurrency === 1 ? 1500 : 6000;
      const runs: Run[][] = paths.map(() => []);
      // Three rounds, the paths taking turns, so a slow moment of the machine hits all of them.
      for (let round = 0; round < 3; round++) {
        for (const [i, [, run]] of paths.entries()) runs[i].push(await timed(n, concurrency, run));
        loadRss = Math.max(loadRss, rssMb(backend.pid));
      }
      p50s[concurrency] = runs.map((r) => median(r.map((x) => x.p50)));
      for (const [i, [label]] of paths.entries()) {
        const r = runs[i];
        table.push(`| ${label} | ${concurrency} | ${n} × 3 | ${median(r.map((x) => x.perSecond)).toFixed(0)} | ${median(r.map((x) => x.p50)).toFixed(2)} | ${median(r.map((x) => x.p99)).toFixed(2)} |`);
      }
    }
    for (const row of table) say(row);
    const ratio = (c: number, base: number) => (p50s[c][2] / p50s[c][base]).toFixed(2);
    say(`warm /api/token p50 ratio vs direct secrets.find: ${ratio(1, 0)} (c=1), ${ratio(20, 0)} (c=20)`);
    say(`warm /api/token p50 ratio vs the same find over raw HTTP: ${ratio(1, 1)} (c=1), ${ratio(20, 1)} (c=20)`);

    const cpuBefore = cpuSeconds(backend.pid);
    await timed(10_000, 20, warm);
    say(`backend CPU per warm /api/token: ${(((cpuSeconds(backend.pid) - cpuBefore) / 10_000) * 1e6).toFixed(0)} µs (10,000 calls at c=20)`);
    // The floor on this machine: a bare node:http server doing one SQLite read, with the same kernel work per request.
    const emulatorBefore = cpuSeconds(emulator.pid);
    await timed(10_000, 20, raw);
    say(`emulator CPU per raw GET /v1/apps/secrets/find, for scale: ${(((cpuSeconds(emulator.pid) - emulatorBefore) / 10_000) * 1e6).toFixed(0)} µs`);
    const before = await emulatorRequests(emulator.url);
    for (let i = 0; i < 1000; i++) await warm();
    say(`Secret Store requests per warm /api/token: ${((await emulatorRequests(emulator.url)) - before) / 1000}`);

    // The provider's API through the broker, beside the same call made directly with the connection's token.
    const access = (await call(backend, '/api/token', user)).body.access_token as string;
    const proxied = await signedPool(user, '/api/proxy', { method: 'GET', path: '/me' }, 50 + 3 * 1000);
    const proxiedMe = async () => expect200(await request(`${backend.url}/api/proxy`, proxied.next()));
    const directMe = async () => expect200(await request(`${provider.issuer}/api/me`, { method: 'GET', headers: { authorization: `Bearer ${access}` } }));
    for (let i = 0; i < 50; i++) {
      await proxiedMe();
      await directMe();
    }
    const proxyRuns: Run[][] = [[], []];
    for (let round = 0; round < 3; round++) {
      proxyRuns[0].push(await timed(1000, 1, directMe));
      proxyRuns[1].push(await timed(1000, 1, proxiedMe));
    }
    const [directP50, proxiedP50] = proxyRuns.map((runs) => median(runs.map((r) => r.p50)));
    say(`| direct \`GET /api/me\` at the dev provider | 1 | 1000 × 3 | ${median(proxyRuns[0].map((r) => r.perSecond)).toFixed(0)} | ${directP50.toFixed(2)} | ${median(proxyRuns[0].map((r) => r.p99)).toFixed(2)} |`);
    say(`| proxied \`POST /api/proxy\` (GET /me) | 1 | 1000 × 3 | ${median(proxyRuns[1].map((r) => r.perSecond)).toFixed(0)} | ${proxiedP50.toFixed(2)} | ${median(proxyRuns[1].map((r) => r.p99)).toFixed(2)} |`);
    say(`proxied GET /api/me p50 ratio vs the same call made directly: ${(proxiedP50 / directP50).toFixed(2)}`);

    // A burst of 400 concurrent calls on one connection whose access token is due.
    const burst = async (targets: Array<{ url: string }>) => {
      const bursting = newUser('bench');
      ok(await connect(parts, targets[0], bursting, { redirectUri: DASHBOARD_REDIRECT }));
      await sleep((ACCESS_TTL / 2 + 1) * 1000);
      const refreshes = await refreshCount(parts);
      const answers = await Promise.all(Array.from({ length: 400 }, (_, i) => call(targets[i % targets.length], '/api/token', bursting)));
      answers.forEach(ok);
      return (await refreshCount(parts)) - refreshes;
    };
    say(`refreshes per burst: ${await burst([backend])} (400 concurrent calls, one instance)`);

    // 10,000 connections registered (extension mode) and served warm once each.
    const scope = (u: User) => ({ type: 'user' as const, user: u.user_id });
    const account = createStripeClient(KEYS.test, { apiBase: emulator.url, maxNetworkRetries: 2, stripeAccount: alice.account_id });
    const many = Array.from({ length: 10_000 }, () => newUser('bench'));
    let next = 0;
    const now = Math.floor(Date.now() / 1000);
    await Promise.all(Array.from({ length: 20 }, async () => {
      while (next < many.length) {
        const u = many[next++];
        const access = { v: 1, access_token: `bench-access-${u.user_id}`, token_type: 'bearer', issued_at: now, expires_at: now + 3600, generation: 1 };
        const refresh = { v: 1, refresh_token: `bench-refresh-${u.user_id}`, expires_at: null, generation: 1, refreshed_at: now, access_lifetime: 3600 };
        await account.apps.secrets.create({ name: SECRET_NAMES.refresh, payload: JSON.stringify(refresh), scope: scope(u) });
        await account.apps.secrets.create({ name: SECRET_NAMES.access, payload: JSON.stringify(access), scope: scope(u), expires_at: access.expires_at });
        ok(await call(backend, '/api/connection', u));
        ok(await call(backend, '/api/token', u));
      }
    }));
    say(`backend RSS: ${idleRss.toFixed(0)} MB idle, ${loadRss.toFixed(0)} MB under load, ${rssMb(backend.pid).toFixed(0)} MB with 10,000 registered connections (all cached)`);

    // Four instances on PostgreSQL.
    const postgres = await startPostgres();
    started.push(postgres);
    const fleet = await Promise.all(Array.from({ length: 4 }, () =>
      startBackendProcess(backendEnv(parts, { ...benchEnv, DATABASE_URL: postgres.url, DATA_DIR: path.join(dataDir, 'fleet') }))));
    started.push(...fleet);
    say(`refreshes per burst: ${await burst(fleet)} (400 concurrent calls over four instances on PostgreSQL)`);
    for (const part of fleet) await part.stop();

    // Stripe's rate limit: N connections due together behind a store that answers 429 beyond R/s.
    say(await dueAtOnce({ emulatorUrl: emulator.url, dataDir: path.join(dataDir, 'due500'), connections: 500, storePerSecond: 25, budgetPerSecond: 20, accessTtl: 120, env: benchEnv }));
    say(await dueAtOnce({ emulatorUrl: emulator.url, dataDir: path.join(dataDir, 'due2000'), connections: 2000, storePerSecond: 100, budgetPerSecond: 80, accessTtl: 300, env: benchEnv }));

    for (const row of await growthTable(provider, benchEnv, [1000, 10_000, 100_000])) say(row);
    for (const line of await windowScenario()) say(line);
  } finally {
    for (const part of started.reverse()) await part.stop().catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
