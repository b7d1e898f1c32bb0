/**
 * A whole broker for integration tests: the Secret Store emulator (in process), the dev
 * provider (child process, test controls on), and the backend app listening on loopback,
 * all on one adjustable clock so a test can move past an access token's expiry.
 */
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import * as client from 'openid-client';
import Stripe from 'stripe';
import { APP_ID } from '../../src/shared/app-id';
import { signatureClaims } from '../../src/shared/signed-request';
import { SECRET_NAMES } from '../../src/shared/token-layout';
import { createBroker, Broker, BrokerOptions } from '../../server/app';
import type { ProviderConfig } from '../../server/config';
import type { LockManager } from '../../server/storage/locks';
import { createLogger } from '../../server/logger';
import { CONFIDENTIAL_CLIENT_SECRET, PUBLIC_CLIENT_ID, TEST_REDIRECT_URI } from '../../server/local/oauth-provider/clients';
import { SigningOrder, stripeSignature } from '../../server/local/dashboard/host-calls';
import { SecretStoreEmulator } from '../../server/local/secret-store/emulator';
import { OAuthClient } from '../../server/broker/oauth-client';
import type { ConnectionRegistry } from '../../server/storage/ports';
import { SqliteRegistry } from '../../server/storage/sqlite';
import { parseSealingKeys, TokenSealer } from '../../server/broker/token-sealing';
import { createStripeClient } from '../../server/stripe-client';
import { startTestProvider, TestProvider } from './dev-provider';
import { authorizeInProvider } from './user-agent';

export const SIGNING_SECRET = 'absec_test_signing_secret_for_the_suite';
export const WEBHOOK_SECRET = 'whsec_test_webhook_secret_for_the_suite';
export const KEYS = { test: 'sk_test_brokersuite', live: 'sk_live_brokersuite' };
/** The suites' sealing key (id `suite1`, also as TOKEN_SEALING_KEYS text), and a second one for rotation tests (`suite2`). */
export const SEALING_KEYS_TEXT = `suite1:${Buffer.alloc(32, 7).toString('base64')}`;
export const [SEALING_KEY, ROTATED_SEALING_KEY] = parseSealingKeys(`${SEALING_KEYS_TEXT},suite2:${Buffer.alloc(32, 9).toString('base64')}`);

export interface User {
  user_id: string;
  account_id: string;
  mode: 'test' | 'live';
}

export const alice: User = { user_id: 'usr_alice', account_id: 'acct_one', mode: 'test' };

/** Everything logged during a suite, for the check that no token ever reaches a log line. */
export const logLines: string[] = [];
const logSink = new Writable({
  write(chunk, _enc, done) {
    logLines.push(chunk.toString());
    done();
  },
});

export interface Stack {
  provider: TestProvider;
  emulator: SecretStoreEmulator;
  emulatorUrl: string;
  clock: { offset: number };
  now: () => number;
  close: () => Promise<void>;
}

export async function startStack(providerArgs: string[] = ['--access-ttl', '60']): Promise<Stack> {
  const clock = { offset: 0 };
  const now = () => Math.floor(Date.now() / 1000) + clock.offset;
  const provider = await startTestProvider(providerArgs);
  const emulator = new SecretStoreEmulator({ now });
  const emulatorUrl = await emulator.listen(0);
  return {
    provider,
    emulator,
    emulatorUrl,
    clock,
    now,
    close: async () => {
      await emulator.close();
      await provider.stop();
    },
  };
}

export interface TestBroker extends Broker {
  url: string;
  registry: ConnectionRegistry;
  stop: () => Promise<void>;
}

export async function startBroker(
  stack: Stack,
  overrides: Partial<BrokerOptions> & { locks?: LockManager; provider?: Partial<ProviderConfig> } = {},
  port = 0,
): Promise<TestBroker> {
  const oauth = await OAuthClient.create({
    issuer: new URL(stack.provider.issuer),
    clientId: PUBLIC_CLIENT_ID,
    clientAuth: 'client_secret_post',
    timeoutSeconds: 1,
    ...overrides.provider,
  });
  const registry = overrides.registry ?? new SqliteRegistry();
  const clients = {
    test: createStripeClient(KEYS.test, { apiBase: stack.emulatorUrl, maxNetworkRetries: 2 }),
    live: createStripeClient(KEYS.live, { apiBase: stack.emulatorUrl, maxNetworkRetries: 2 }),
  };
  const broker = createBroker({
    appSigningSecret: SIGNING_SECRET,
    webhookSecret: WEBHOOK_SECRET,
    appId: APP_ID,
    allowLoopbackRedirects: true,
    sealer: new TokenSealer([SEALING_KEY]),
    oauth,
    stripe: clients,
    logger: createLogger('info', logSink),
    ...overrides,
    registry,
    background: { flushIntervalMs: 100, ...overrides.background },
    refresh: { marginSeconds: 300, defaultAccessLifetimeSeconds: 3600, now: stack.now, providerRetry: { attempts: 3, baseDelayMs: 20 }, ...overrides.refresh },
  });
  const server = broker.app.listen(port, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    ...broker,
    url,
    registry,
    stop: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await broker.close();
    },
  };
}

export interface SignOptions {
  secret?: string;
  timestamp?: number;
  order?: SigningOrder;
}

/** The Stripe-Signature the Dashboard would give the extension for this call. */
export async function sign(user: User, path: string, params: object = {}, options: SignOptions = {}): Promise<string> {
  const claims = await signatureClaims(user.mode, path, params as Record<string, unknown>);
  return stripeSignature(options.secret ?? SIGNING_SECRET, { userId: user.user_id, accountId: user.account_id }, { ...claims }, options);
}

export interface ApiAnswer {
  status: number;
  body: Record<string, unknown> & { error?: { code: string; message: string } };
  headers: Headers;
}

/** A signed POST as the extension sends it. */
export async function call(broker: { url: string }, path: string, user: User, extra: object = {}, signature?: string): Promise<ApiAnswer> {
  signature ??= await sign(user, path, extra);
  const res = await fetch(`${broker.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': signature, origin: 'null' },
    body: JSON.stringify({ ...user, ...extra }),
  });
  const body = (await res.json()) as ApiAnswer['body'];
  if (typeof body.access_token === 'string') seenSecrets.add(body.access_token);
  return { status: res.status, body, headers: res.headers };
}

/** Every token, code and verifier a suite handled, for the log scan. */
export const seenSecrets = new Set<string>([SIGNING_SECRET, WEBHOOK_SECRET, KEYS.test, KEYS.live, CONFIDENTIAL_CLIENT_SECRET]);

/** Runs the provider's login and consent, then the backend exchange; returns the exchange answer. */
export interface ConnectOptions {
  login?: string;
  clientId?: string;
  /** Without offline_access the dev provider issues no refresh token. */
  scope?: string;
  /** The loopback test URI by default; a backend started as in production takes the Dashboard's only. */
  redirectUri?: string;
}

export async function connect(stack: Pick<Stack, 'provider'>, broker: { url: string }, user: User, options: ConnectOptions = {}): Promise<ApiAnswer> {
  const { login = 'alice', clientId = PUBLIC_CLIENT_ID, scope = 'openid profile offline_access', redirectUri = TEST_REDIRECT_URI } = options;
  const config = await client.discovery(new URL(stack.provider.issuer), clientId, undefined, client.None(), {
    execute: [client.allowInsecureRequests],
  });
  const verifier = client.randomPKCECodeVerifier();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope,
    prompt: 'consent',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  const callback = await authorizeInProvider(url, redirectUri, { user: login });
  const code = callback.searchParams.get('code')!;
  seenSecrets.add(code);
  seenSecrets.add(verifier);
  return call(broker, '/api/oauth/exchange', user, { code, verifier, redirect_uri: redirectUri });
}

/**
 * Reads a user's secrets straight from the emulator with the SDK, as Stripe would hold them;
 * a sealed payload is opened with the suite's key (`sealed` says it was sealed).
 */
export async function storedSecrets(stack: Stack, user: User) {
  const stripe = createStripeClient(KEYS[user.mode], { apiBase: stack.emulatorUrl, maxNetworkRetries: 0 });
  const connection = { userId: user.user_id, accountId: user.account_id, mode: user.mode };
  const read = async (name: string) => {
    try {
      const secret = await stripe.apps.secrets.find(
        { name, scope: { type: 'user', user: user.user_id }, expand: ['payload'] },
        { stripeAccount: user.account_id },
      );
      const sealed = TokenSealer.isSealed(secret.payload!);
      const payload = JSON.parse(sealed ? new TokenSealer([SEALING_KEY, ROTATED_SEALING_KEY]).open(secret.payload!, connection, name) : secret.payload!);
      if (payload.access_token) seenSecrets.add(payload.access_token);
      if (payload.refresh_token) seenSecrets.add(payload.refresh_token);
      return { expires_at: secret.expires_at, payload, sealed, raw: secret.payload! };
    } catch (err) {
      if ((err as Stripe.errors.StripeError).statusCode === 404) return undefined;
      throw err;
    }
  };
  return { access: await read(SECRET_NAMES.access), refresh: await read(SECRET_NAMES.refresh) };
}

export async function providerStats(stack: Pick<Stack, 'provider'>): Promise<{ token: Record<string, Record<string, number>>; revocations: number }> {
  return (await stack.provider.control('/dev/stats')) as { token: Record<string, Record<string, number>>; revocations: number };
}

/** The leak check: nothing logged during the suite contains a token, code, verifier or secret it saw. */
export function expectNoSecretsLogged(): void {
  expect(logLines.length).toBeGreaterThan(0);
  const leaks = [...seenSecrets].filter((secret) => logLines.some((line) => line.includes(secret)));
  expect(leaks).toEqual([]);
}

/**
 * A suite's emulator, provider and backend: started before its tests, stopped after them, and
 * the log scan run last. `use` receives them once they are up.
 */
export function brokerSuite(use: (started: { stack: Stack; broker: TestBroker }) => void): void {
  let started: { stack: Stack; broker: TestBroker } | undefined;
  beforeAll(async () => {
    const stack = await startStack();
    started = { stack, broker: await startBroker(stack) };
    use(started);
  });
  afterAll(async () => {
    await started?.broker.stop();
    await started?.stack.close();
    expectNoSecretsLogged();
  });
}

export const refreshCount = async (stack: Pick<Stack, 'provider'>, status = '200') => (await providerStats(stack)).token.refresh_token?.[status] ?? 0;
