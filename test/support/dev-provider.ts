/**
 * The dev OAuth provider in a child process (oidc-provider is ESM-only and runs as the real
 * command does), with helpers for its test controls and for getting tokens through its login.
 */
import * as client from 'openid-client';
import { PUBLIC_CLIENT_ID, TEST_REDIRECT_URI } from '../../server/local/oauth-provider/clients';
import { startCommand } from './commands';
import { eventually } from './fixtures';
import { seenSecrets } from './leak-check';
import { providerService, sharedService, sharing, USUAL_PROVIDER_ARGS } from './shared-services';
import { authorizeInProvider, type AuthorizeAs } from './user-agent';

export interface TestProvider {
  issuer: string;
  control: (path: string, body?: object) => Promise<unknown>;
  stop: () => Promise<number | null>;
}

/**
 * The dev provider started with `args` (and test controls on). Under jest, one per configuration
 * and worker for the whole run (shared-services.ts), its faults, counts and rotation switch reset
 * for the suite; `stop` then leaves it running for the next suite.
 */
export async function startTestProvider(args: string[] = USUAL_PROVIDER_ARGS): Promise<TestProvider> {
  const [name, script, argv] = providerService(args);
  const command = sharing() ? { ...(await sharedService(name, script, argv)), stop: async () => null } : await startCommand(script, argv);
  const control = async (path: string, body?: object) => {
    const res = await fetch(`${command.url}${path}`, body ? { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {});
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  await control('/dev/reset', {});
  return { issuer: command.url, control, stop: command.stop };
}

export function discover(issuer: string, clientId: string, clientSecret?: string): Promise<client.Configuration> {
  return client.discovery(new URL(issuer), clientId, clientSecret, clientSecret ? client.ClientSecretPost(clientSecret) : client.None(), {
    execute: [client.allowInsecureRequests],
  });
}

export const TEST_SCOPE = 'openid profile offline_access';

/** The authorization request with PKCE and prompt=consent, through the real login and consent pages. */
export async function codeFlow(config: client.Configuration, as: AuthorizeAs = {}) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: TEST_REDIRECT_URI,
    scope: TEST_SCOPE,
    prompt: 'consent',
    state,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  const callback = await authorizeInProvider(url, TEST_REDIRECT_URI, as);
  expect(callback.searchParams.get('state')).toBe(state);
  return { callback, verifier };
}

/** The exchange as the broker does it: no `iss` reaches a Stripe app, so a plain grant request. */
export async function exchange(config: client.Configuration, as: AuthorizeAs = {}) {
  const { callback, verifier } = await codeFlow(config, as);
  return client.genericGrantRequest(config, 'authorization_code', {
    code: callback.searchParams.get('code')!,
    code_verifier: verifier,
    redirect_uri: TEST_REDIRECT_URI,
  });
}

export interface ProviderStats {
  /** Token-endpoint answers by grant type and status. */
  token: Record<string, Record<string, number>>;
  revocations: number;
  /** API answers by method and route (`GET /api/me`) and status. */
  api: Record<string, Record<string, number>>;
  /** Token-endpoint requests received and not yet answered. */
  tokenInFlight: number;
}

export const providerStats = async (stack: { provider: TestProvider }) => (await stack.provider.control('/dev/stats')) as ProviderStats;

/** Waits until a token-endpoint request is at the provider (held there by a fault), up to 10 s. */
export async function untilAtProvider(stack: { provider: TestProvider }): Promise<void> {
  expect(await eventually(async () => (await providerStats(stack)).tokenInFlight > 0, 10_000)).toBe(true);
}

/** Refresh-token grants the provider answered with `status` (200: refreshes that happened). */
export const refreshCount = async (stack: { provider: TestProvider }, status = '200') => (await providerStats(stack)).token.refresh_token?.[status] ?? 0;

/** An API key the dev provider's user `login` made, as they would on its site (the key and the token that made it are the suite's secrets). */
export async function makeApiKey(provider: Pick<TestProvider, 'issuer'>, login = 'alice'): Promise<string> {
  const tokens = await exchange(await discover(provider.issuer, PUBLIC_CLIENT_ID), { user: login });
  seenSecrets.add(tokens.access_token);
  const res = await fetch(`${provider.issuer}/api/keys`, { method: 'POST', headers: { authorization: `Bearer ${tokens.access_token}` } });
  const { api_key } = (await res.json()) as { api_key: string };
  seenSecrets.add(api_key);
  return api_key;
}
