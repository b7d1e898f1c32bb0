/**
 * Backends started as in production (`npm run backend`, a child process each) against the
 * suite's Secret Store emulator and dev provider, and a PostgreSQL for several of them: for
 * the fault suites that crash, kill and scale the backend.
 */
import { APP_ID } from '../../src/common/app-id';
import { dashboardRedirectUri } from '../../src/common/redirect-uri';
import { PUBLIC_CLIENT_ID } from '../../server/local/oauth-provider/clients';
import { KEYS, SEALING_KEYS_TEXT, SIGNING_SECRET } from './fixtures';
import { dueTime, Stack } from './stack';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { ROOT, RunningCommand, startCommand } from './commands';
import { eventually, type User } from './fixtures';
import { POSTGRES_SERVICE, runDir, sharedService, sharing } from './shared-services';

/** What a backend started as in production takes: the Dashboard's redirect URI, never loopback. */
export const DASHBOARD_REDIRECT = dashboardRedirectUri(APP_ID, 'test');

export function backendEnv(stack: Pick<Stack, 'emulatorUrl' | 'provider'>, extra: Record<string, string>): Record<string, string> {
  return {
    STRIPE_SECRET_KEY_TEST: KEYS.test,
    STRIPE_API_BASE: stack.emulatorUrl,
    STRIPE_APP_SIGNING_SECRET: SIGNING_SECRET,
    STRIPE_APP_ID: APP_ID,
    TOKEN_SEALING_KEYS: SEALING_KEYS_TEXT,
    OAUTH_ISSUER: stack.provider.issuer,
    OAUTH_CLIENT_ID: PUBLIC_CLIENT_ID,
    PORT: '0',
    LOG_LEVEL: 'info',
    // The emulator has no rate limit: sign-ins are not paced like Stripe's (rate-limit.test.ts tests the budget).
    SECRET_STORE_REQUESTS_PER_SECOND: '1000',
    ...extra,
  };
}

/** `npm run backend`: the compiled backend (server/production.js builds it when needed). */
export const startBackendProcess = (env: Record<string, string>): Promise<RunningCommand> => startCommand('server/production.js', [], env);

/**
 * A clock for backends started as child processes (the preload test/support/shift-clock.cjs), to
 * move past an expiry, a retry or a claim instead of waiting for it. A backend started with `env`
 * runs `offsetSeconds` ahead of the real clock; `advance` moves the running ones further.
 *
 * A backend's broker corrects its clock to the fleet's reference (broker/clock.ts): with
 * PostgreSQL measured at start and every minute, else from each quick provider answer (one at
 * start). So a move holds until then: use it in PostgreSQL backends within a test, in SQLite
 * backends only up to their next call to the provider (one refresh, not several side by side),
 * and move a restarted backend again, after its start: it reads its reference anew. The stack's other
 * parts (emulator, provider, PostgreSQL) keep the real time: a backend ahead of them stores
 * expiries later, which they outlive harmlessly, where moving the emulator too would drop the
 * secrets of a backend that re-anchored. Move only while no refresh is under way: the lock lease
 * is judged by PostgreSQL's clock, the write fence by the process's.
 */
export interface BackendClock {
  /** For backendEnv's `extra`: the preload and its file (a backend started after a move takes the current offset). */
  env: Record<string, string>;
  /** Moves `backends`' clocks `seconds` ahead; resolves once each has taken the move. */
  advance(backends: RunningCommand[], seconds: number): Promise<void>;
}

let clocksDir: string | undefined;

export function backendClock(offsetSeconds = 0): BackendClock {
  // In the run's folder, removed after the run (an exit handler in a test file never ran under jest).
  clocksDir ??= mkdtempSync(path.join(runDir(), 'backend-clocks-'));
  const file = path.join(clocksDir, randomBytes(6).toString('hex'));
  let offset = offsetSeconds;
  writeFileSync(file, String(offset));
  const took = (backend: RunningCommand) => existsSync(`${file}.${backend.pid}`) && readFileSync(`${file}.${backend.pid}`, 'utf8') === String(offset);
  return {
    env: { NODE_OPTIONS: `--require ${path.join(ROOT, 'test', 'support', 'shift-clock.cjs')}`, TEST_CLOCK_FILE: file },
    advance: async (backends, seconds) => {
      offset += seconds;
      writeFileSync(file, String(offset));
      for (const backend of backends) process.kill(backend.pid, 'SIGUSR2');
      if (!(await eventually(() => backends.every(took), 20_000))) throw new Error(`a backend did not take the clock move to ${offset} s`);
    },
  };
}

/**
 * untilDue for backends on `clock` whose brokers read the real time (no move since they last met
 * their reference): their clocks moved to the users' due time instead of waiting for it, and a
 * second more, as a broker that read the provider's clock (a `Date` header, whole seconds) may
 * be up to that far behind. Past due is due all the same.
 */
export async function advanceUntilDue(stack: Pick<Stack, 'emulatorUrl'>, clock: BackendClock, backends: RunningCommand[], users: User[]): Promise<void> {
  const ahead = (await dueTime(stack, users)) - Date.now();
  await clock.advance(backends, Math.max(0, ahead) / 1000 + 1);
}

export interface TestPostgres {
  /** The suite's own database. */
  url: string;
  /** SIGSTOP / SIGCONT to the server and its backends: a database that hangs, then goes on. */
  freeze(): Promise<void>;
  thaw(): Promise<void>;
  /** A fast shutdown (connections refused), and the same cluster again. */
  stopServer(): Promise<void>;
  startServer(): Promise<void>;
  /** The suite's database dropped (and the server stopped, when it is the suite's own). */
  stop: () => Promise<void>;
}

/**
 * A database of the suite's own on the test PostgreSQL (postgres-cli.ts). Under jest the server
 * is one per worker for the whole run (shared-services.ts): thawed and started first, in case an
 * earlier suite left it frozen or stopped. Freezing or stopping it affects only the suite that
 * does so, since a worker's suites run one after another.
 */
export async function startPostgres(): Promise<TestPostgres> {
  const [service, script, args] = POSTGRES_SERVICE;
  const own = sharing() ? undefined : await startCommand(script, args, {}, 60_000);
  const server = own ?? (await sharedService(service, script, args));
  const control = /control (http:\/\/127\.0\.0\.1:\d+)/.exec(server.output())![1];
  const post = async (action: string) => {
    const res = await fetch(`${control}${action}`, { method: 'POST' });
    if (!res.ok) throw new Error(`PostgreSQL ${action}: ${res.status} ${await res.text()}`);
  };
  await post('/thaw');
  await post('/start');
  const name = `suite_${randomBytes(6).toString('hex')}`;
  const admin = async (sql: string) => {
    const client = new Client({ connectionString: server.url.replace(/\/broker$/, '/postgres') });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  return {
    url: server.url.replace(/\/broker$/, `/${name}`),
    freeze: () => post('/freeze'),
    thaw: () => post('/thaw'),
    stopServer: () => post('/stop'),
    startServer: () => post('/start'),
    stop: async () => {
      await post('/thaw');
      await post('/start');
      await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await own?.stop();
    },
  };
}
