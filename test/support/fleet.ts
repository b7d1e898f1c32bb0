/**
 * Backends started as in production (`npm run backend`, a child process each) against the
 * suite's Secret Store emulator and dev provider, and a PostgreSQL for several of them: for
 * the fault suites that crash, kill and scale the backend.
 */
import { APP_ID } from '../../src/common/app-id';
import { dashboardRedirectUri } from '../../src/common/redirect-uri';
import { PUBLIC_CLIENT_ID } from '../../server/local/oauth-provider/clients';
import { KEYS, SEALING_KEYS_TEXT, SIGNING_SECRET } from './fixtures';
import { Stack } from './stack';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { RunningCommand, startCommand } from './commands';
import { POSTGRES_SERVICE, sharedService, sharing } from './shared-services';

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
