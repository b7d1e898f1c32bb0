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
import { RunningCommand, startCommand } from './commands';

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
    ...extra,
  };
}

/** `npm run backend`: the compiled backend (server/production.js builds it when needed). */
export const startBackendProcess = (env: Record<string, string>): Promise<RunningCommand> => startCommand('server/production.js', [], env);

export interface TestPostgres {
  url: string;
  /** SIGSTOP / SIGCONT to the server and its backends: a database that hangs, then goes on. */
  freeze(): Promise<void>;
  thaw(): Promise<void>;
  /** A fast shutdown (connections refused), and the same cluster again. */
  stopServer(): Promise<void>;
  startServer(): Promise<void>;
  stop: () => Promise<number | null>;
}

export async function startPostgres(): Promise<TestPostgres> {
  const server = await startCommand('test/support/postgres-cli.ts', [], {}, 60_000);
  const control = /control (http:\/\/127\.0\.0\.1:\d+)/.exec(server.output())![1];
  const post = async (action: string) => {
    const res = await fetch(`${control}${action}`, { method: 'POST' });
    if (!res.ok) throw new Error(`PostgreSQL ${action}: ${res.status} ${await res.text()}`);
  };
  return {
    url: server.url,
    freeze: () => post('/freeze'),
    thaw: () => post('/thaw'),
    stopServer: () => post('/stop'),
    startServer: () => post('/start'),
    stop: server.stop,
  };
}
