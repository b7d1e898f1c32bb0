/**
 * The backend in the test process (createBroker, listening on loopback) against a suite's stack:
 * the dev provider's public client, SQLite storage in memory, the suite's secrets and clock.
 */
import type { AddressInfo } from 'node:net';
import { APP_ID } from '../../src/common/app-id';
import { createBroker, Broker, BrokerOptions } from '../../server/app';
import { OAuthClient, type ProviderOptions } from '../../server/broker/oauth-client';
import type { Provider } from '../../server/broker/providers';
import { TokenSealer } from '../../server/broker/token-sealing';
import { closeServer } from '../../server/http/close-server';
import { PUBLIC_CLIENT_ID } from '../../server/local/oauth-provider/clients';
import { createLogger } from '../../server/logger';
import { openSqliteStorage } from '../../server/storage/sqlite';
import { createStripeClient } from '../../server/stripe-client';
import { KEYS, SEALING_KEY, SIGNING_SECRET, WEBHOOK_SECRET } from './fixtures';
import { checkForLeaksAfterEachTest, logLines, logSink } from './leak-check';
import { type Stack, startStack } from './stack';

export interface TestBroker extends Broker {
  url: string;
  stop: () => Promise<void>;
}

/** A named OAuth provider (docs/services.md): a dev provider's public client, with its API. */
export const oauthProvider = async (name: string, issuer: string): Promise<Provider> => ({
  name,
  kind: 'oauth',
  oauth: await OAuthClient.create({ issuer: new URL(issuer), clientId: PUBLIC_CLIENT_ID, clientAuth: 'client_secret_post', timeoutSeconds: 2 }),
  defaultAccessLifetimeSeconds: 3600,
  api: { bases: [new URL(`${issuer}/api`)], forwardHeaders: [], maxResponseBytes: 1024 * 1024, timeoutMs: 3000 },
});

/** An API-key provider: a dev provider's API, with the keys its users make (verified at /me). */
export const apiKeyProvider = (name: string, issuer: string): Provider => ({
  name,
  kind: 'api_key',
  api: { bases: [new URL(`${issuer}/api`)], forwardHeaders: [], maxResponseBytes: 1024 * 1024, timeoutMs: 3000 },
  apiKey: { header: 'authorization', prefix: 'Bearer ', verifyPath: '/me' },
});

export type BrokerOverrides = Partial<BrokerOptions> & { provider?: Partial<ProviderOptions> };

export async function startBroker(stack: Stack, overrides: BrokerOverrides = {}, port = 0): Promise<TestBroker> {
  const oauth = await OAuthClient.create({
    issuer: new URL(stack.provider.issuer),
    clientId: PUBLIC_CLIENT_ID,
    clientAuth: 'client_secret_post',
    timeoutSeconds: 1,
    ...overrides.provider,
  });
  const clients = {
    test: createStripeClient(KEYS.test, { apiBase: stack.emulatorUrl, maxNetworkRetries: 0, bounded: true }),
    live: createStripeClient(KEYS.live, { apiBase: stack.emulatorUrl, maxNetworkRetries: 0, bounded: true }),
  };
  const broker = createBroker({
    appSigningSecret: SIGNING_SECRET,
    webhookSecrets: [WEBHOOK_SECRET],
    appId: APP_ID,
    allowLoopbackRedirects: true,
    sealer: new TokenSealer([SEALING_KEY]),
    oauth,
    stripe: clients,
    logger: createLogger('info', logSink),
    storage: overrides.storage ?? openSqliteStorage(),
    api: { bases: [new URL(`${stack.provider.issuer}/api`)], timeoutMs: 3000 },
    // The emulator has no rate limit: sign-ins are not paced like Stripe's (rate-limit.test.ts sets its own budgets).
    secretStoreRequestsPerSecond: { test: 1000, live: 1000 },
    ...overrides,
    background: { flushIntervalMs: 100, ...overrides.background },
    refresh: { now: stack.now, providerRetry: { attempts: 3, baseDelayMs: 20 }, ...overrides.refresh },
  });
  const server = broker.app.listen(port, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return {
    ...broker,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: async () => {
      await closeServer(server);
      await broker.close();
    },
  };
}

/** A suite's stack and one backend: started before its tests, stopped after them, the leak check after each test. */
export function brokerSuite(use: (started: { stack: Stack; broker: TestBroker }) => void, overrides: BrokerOverrides = {}): void {
  let started: { stack: Stack; broker: TestBroker } | undefined;
  beforeAll(async () => {
    const stack = await startStack();
    started = { stack, broker: await startBroker(stack, overrides) };
    use(started);
  });
  checkForLeaksAfterEachTest(() => logLines);
  afterAll(async () => {
    await started?.broker.stop();
    await started?.stack.close();
  });
}
