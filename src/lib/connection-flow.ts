/**
 * The connect flow as plain functions the views call (testable without React):
 * sign-in preparation, the return from the provider, loading the connection, disconnect.
 */
import type { AppConfig } from './app-config';
import { authorizeUrl } from './app-config';
import { BackendError, callBackend, Caller } from './backend-client';
import { dashboard } from './dashboard';
import { ExtensionSecrets } from './extension-secrets';
import { dashboardRedirectUri } from './redirect-uri';
import { STATE_LIFETIME_SECONDS, TokenResponse, tokenPayloads } from './token-layout';

export interface FlowContext {
  config: AppConfig;
  caller: Caller;
  appId: string;
  now?: () => number;
}

export type Connection =
  | { kind: 'signed_out'; reconnect: boolean }
  | { kind: 'connected'; accessToken: string; expiresAt: number; scope: string | null };

export interface OAuthReturn {
  code?: string;
  state?: string;
  verifier?: string;
  error?: string;
}

export type FlowErrorKind = 'provider_error' | 'state_mismatch' | 'exchange_failed';

export class FlowError extends Error {
  constructor(
    readonly kind: FlowErrorKind,
    message: string,
  ) {
    super(message);
  }
}

/** Access tokens this close to expiry are not used from the secret; the backend refreshes them. */
const MIN_REMAINING_SECONDS = 60;
const unixNow = () => Math.floor(Date.now() / 1000);

/**
 * Codes already handled in this page: `oauthContext` stays set until the Dashboard reloads,
 * so a re-render must not exchange the same code again.
 */
const handledCodes = new Set<string>();

export const redirectUri = (ctx: FlowContext) => dashboardRedirectUri(ctx.appId, ctx.caller.mode);

function randomNonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** A new PKCE state with our nonce in it, kept in a short-lived secret, and the provider URL to send the user to. */
export async function prepareSignIn(ctx: FlowContext): Promise<string> {
  const nonce = randomNonce();
  const { state, challenge } = await dashboard().createOAuthState(nonce);
  await new ExtensionSecrets(ctx.caller.userId).writeState({ state, nonce }, (ctx.now ?? unixNow)() + STATE_LIFETIME_SECONDS);
  return authorizeUrl(ctx.config, { state, challenge, redirectUri: redirectUri(ctx) });
}

/** True when `oauthContext` carries a return this page has not handled yet. */
export function isNewReturn(oauth: OAuthReturn | undefined): oauth is OAuthReturn {
  if (!oauth) return false;
  if (oauth.code) return !handledCodes.has(oauth.code);
  return Boolean(oauth.error) && !handledCodes.has(`error:${oauth.state ?? ''}:${oauth.error}`);
}

/** Handles the provider's answer: checks it, exchanges the code once, and loads the connection. */
export async function completeSignIn(ctx: FlowContext, oauth: OAuthReturn): Promise<Connection> {
  if (!oauth.code) {
    handledCodes.add(`error:${oauth.state ?? ''}:${oauth.error}`);
    throw new FlowError('provider_error', `The provider did not grant access (${(oauth.error ?? 'no code returned').slice(0, 100)}).`);
  }
  const { code } = oauth;
  handledCodes.add(code);
  // The Dashboard hands back a verifier only for a state it issued; this check adds that the
  // sign-in is the one this app started and not yet used. Stripe's docs leave open whether
  // `oauthContext.state` is the whole state or the custom value embedded in it, so either matches.
  const issued = await new ExtensionSecrets(ctx.caller.userId).takeState();
  if (!issued || (oauth.state !== issued.state && oauth.state !== issued.nonce)) {
    throw new FlowError('state_mismatch', 'This sign-in does not match the one this app started (or it expired). Connect again.');
  }
  if (!oauth.verifier) throw new FlowError('exchange_failed', 'The Dashboard returned no PKCE verifier. Connect again.');
  try {
    if (ctx.config.exchangeMode === 'backend') {
      await callBackend(ctx.config, ctx.caller, '/api/oauth/exchange', { code, verifier: oauth.verifier, redirect_uri: redirectUri(ctx) });
    } else {
      await exchangeInExtension(ctx, code, oauth.verifier);
    }
  } catch (err) {
    if (err instanceof BackendError && err.status !== 0) throw new FlowError('exchange_failed', err.message);
    throw err;
  }
  return loadConnection(ctx);
}

/** Extension mode: a public client exchanges at the provider itself and stores the tokens in its own scope. */
async function exchangeInExtension(ctx: FlowContext, code: string, verifier: string): Promise<void> {
  const { config } = ctx;
  const response = await fetch(config.tokenUrl!, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, code_verifier: verifier, client_id: config.clientId, redirect_uri: redirectUri(ctx) }),
  }).catch(() => {
    throw new FlowError('exchange_failed', 'The provider token endpoint cannot be reached from the Dashboard (CORS or network).');
  });
  const body = (await response.json().catch(() => ({}))) as Partial<TokenResponse> & { error?: string };
  if (!response.ok || typeof body.access_token !== 'string' || typeof body.token_type !== 'string') {
    throw new FlowError('exchange_failed', `The provider refused the code (${String(body.error ?? response.status).slice(0, 60)}).`);
  }
  const expiresIn = Number(body.expires_in);
  const tokens = tokenPayloads(
    { ...body, access_token: body.access_token, token_type: body.token_type, expires_in: expiresIn > 0 ? expiresIn : undefined },
    undefined,
    (ctx.now ?? unixNow)(),
    config.defaultAccessLifetimeSeconds,
  );
  await new ExtensionSecrets(ctx.caller.userId).writeTokens(tokens);
  await callBackend(config, ctx.caller, '/api/connection');
}

/** The access token from its secret when it has time left; else the backend's answer (it refreshes). */
export async function loadConnection(ctx: FlowContext): Promise<Connection> {
  const access = await new ExtensionSecrets(ctx.caller.userId).readAccess();
  if (access && access.expires_at - (ctx.now ?? unixNow)() > MIN_REMAINING_SECONDS) {
    return { kind: 'connected', accessToken: access.access_token, expiresAt: access.expires_at, scope: access.scope ?? null };
  }
  try {
    const token = await callBackend<{ access_token: string; expires_at: number; scope: string | null }>(ctx.config, ctx.caller, '/api/token');
    return { kind: 'connected', accessToken: token.access_token, expiresAt: token.expires_at, scope: token.scope };
  } catch (err) {
    if (err instanceof BackendError && err.code === 'not_connected') return { kind: 'signed_out', reconnect: false };
    if (err instanceof BackendError && err.code === 'reconnect_required') return { kind: 'signed_out', reconnect: true };
    throw err;
  }
}

export async function disconnect(ctx: FlowContext): Promise<void> {
  await callBackend(ctx.config, ctx.caller, '/api/oauth/disconnect');
}

export interface Profile {
  name: string;
  email?: string;
}

/** Who is connected, by calling the provider with the access token: proof that the token works. */
export async function fetchProfile(config: AppConfig, accessToken: string): Promise<Profile | undefined> {
  if (!config.profileUrl) return undefined;
  const response = await fetch(config.profileUrl, { method: config.profileMethod, headers: { Authorization: `Bearer ${accessToken}` } });
  if (!response.ok) throw new Error(`The provider answered ${response.status} to the profile request.`);
  const p = (await response.json()) as Record<string, unknown>;
  const nested = p.name && typeof p.name === 'object' ? (p.name as Record<string, unknown>).display_name : undefined;
  const name = [typeof p.name === 'string' ? p.name : nested, p.display_name, p.login, p.email, p.sub].find((v) => typeof v === 'string' && v);
  return { name: String(name ?? 'unknown'), email: typeof p.email === 'string' ? p.email : undefined };
}
