/** The extension's side of the backend contract: signed calls, and a whole sign-in through the dev provider. */
import { randomBytes } from 'node:crypto';
import * as client from 'openid-client';
import { signatureClaims } from '../../src/common/signed-request';
import { SigningOrder, stripeSignature } from '../../server/local/dashboard/host-calls';
import { PUBLIC_CLIENT_ID, TEST_REDIRECT_URI } from '../../server/local/oauth-provider/clients';
import type { TestProvider } from './dev-provider';
import Stripe from 'stripe';
import { SIGNING_SECRET, User, WEBHOOK_SECRET } from './fixtures';
import { seenSecrets } from './leak-check';
import { authorizeInProvider } from './user-agent';

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

/** A nonce as the extension makes one for every signed request. */
export const freshNonce = () => randomBytes(16).toString('hex');

/** Parameters as the extension sends them: with a fresh nonce, unless they carry one. */
export const withNonce = <T extends object>(params: T): T & { nonce: string } => ({ nonce: freshNonce(), ...params });

/** A signed POST as the extension sends it (a fresh nonce unless `extra` has one; signed for `user` unless `signature` is given). */
export async function call(broker: { url: string }, path: string, user: User, extra: object = {}, signature?: string): Promise<ApiAnswer> {
  const params = withNonce(extra);
  signature ??= await sign(user, path, params);
  const res = await fetch(`${broker.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': signature, origin: 'null' },
    body: JSON.stringify({ ...user, ...params }),
  });
  const body = (await res.json()) as ApiAnswer['body'];
  if (typeof body.access_token === 'string') seenSecrets.add(body.access_token);
  return { status: res.status, body, headers: res.headers };
}

export interface ConnectOptions {
  login?: string;
  clientId?: string;
  /** Without offline_access the dev provider issues no refresh token. */
  scope?: string;
  /** The loopback test URI by default; a backend started as in production takes the Dashboard's only. */
  redirectUri?: string;
}

/** The provider's metadata by issuer and client, read once. */
const discovered = new Map<string, Promise<client.Configuration>>();

/** The provider's login and consent, as the user goes through them: the code, its verifier and redirect URI. */
export async function authorize(stack: { provider: TestProvider }, options: ConnectOptions = {}): Promise<{ code: string; verifier: string; redirect_uri: string }> {
  const { login = 'alice', clientId = PUBLIC_CLIENT_ID, scope = 'openid profile offline_access', redirectUri = TEST_REDIRECT_URI } = options;
  const key = `${stack.provider.issuer} ${clientId}`;
  if (!discovered.has(key)) {
    discovered.set(key, client.discovery(new URL(stack.provider.issuer), clientId, undefined, client.None(), { execute: [client.allowInsecureRequests] }));
  }
  const config = await discovered.get(key)!;
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
  return { code, verifier, redirect_uri: redirectUri };
}

/** Runs the provider's login and consent, then the backend exchange; returns the exchange answer. */
export async function connect(stack: { provider: TestProvider }, broker: { url: string }, user: User, options: ConnectOptions = {}): Promise<ApiAnswer> {
  return call(broker, '/api/oauth/exchange', user, await authorize(stack, options));
}

/** Connects every user, a few sign-ins at a time as several people would, and expects each exchange to answer 200. */
export async function connectAll(stack: { provider: TestProvider }, broker: { url: string }, users: User[], options: ConnectOptions = {}): Promise<void> {
  const queue = [...users];
  const statuses: number[] = [];
  await Promise.all([0, 1, 2, 3].map(async () => {
    for (let user = queue.shift(); user; user = queue.shift()) statuses.push((await connect(stack, broker, user, options)).status);
  }));
  expect(statuses).toEqual(users.map(() => 200));
}

/** A Stripe event sent to the backend's webhook, signed as Stripe signs it (with `secret`, the suite's by default). */
export function postStripeEvent(broker: { url: string }, event: object, secret = WEBHOOK_SECRET): Promise<Response> {
  const payload = JSON.stringify(event);
  return fetch(`${broker.url}/webhooks/stripe`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': Stripe.webhooks.generateTestHeaderString({ payload, secret }) },
    body: payload,
  });
}
