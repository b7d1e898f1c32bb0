/**
 * The connect flow as plain functions the views call (testable without React): sign-in
 * preparation, the return from the provider, loading the access token, disconnect.
 */
import { unixNow } from '../common/clock';
import type { DashboardUserId } from '../common/connection-id';
import { dashboardRedirectUri } from '../common/redirect-uri';
import { TokenResponse, tokenPayloads } from '../common/token-layout';
import type { AppConfig } from './app-config';
import { authorizeUrl } from './app-config';
import { BackendError, callBackend, randomNonce } from './backend-client';
import { dashboard } from './dashboard';
import { ExtensionSecrets } from './extension-secrets';

/**
 * Returns from the provider already handled in this page: `oauthContext` stays set until the
 * Dashboard reloads, so a re-render must not exchange the same code again.
 */
export class HandledReturns {
  private readonly keys = new Set<string>();

  private static key(oauth: OAuthReturn): string {
    return oauth.code ?? `error:${oauth.state ?? ''}:${oauth.error}`;
  }

  /** True when `oauth` carries a return not handled yet. */
  isNew(oauth: OAuthReturn | undefined): oauth is OAuthReturn {
    return Boolean(oauth && (oauth.code || oauth.error)) && !this.keys.has(HandledReturns.key(oauth!));
  }

  add(oauth: OAuthReturn): void {
    this.keys.add(HandledReturns.key(oauth));
  }
}

export interface FlowContext {
  config: AppConfig;
  /** Who signs: the Dashboard user (the connection is theirs, or their account's: `config.connectionScope`). */
  caller: DashboardUserId;
  appId: string;
  handled: HandledReturns;
  now?: () => number;
}

/** What the view can use: an access token, none (never connected), or a lost connection. */
export type Access =
  | { kind: 'usable'; accessToken: string; expiresAt: number; scope: string | null }
  | { kind: 'none' }
  | { kind: 'lost' };

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

const secretsOf = (ctx: FlowContext) => new ExtensionSecrets(ctx.caller.userId, ctx.config.connectionScope, ctx.config.name);

/** Access tokens this close to expiry are not used from the secret; the backend refreshes them. */
const MIN_REMAINING_SECONDS = 60;

/** The Dashboard's return URL for the app and mode (the offline console sets its own, app-config.ts). */
export const redirectUri = (ctx: FlowContext) => ctx.config.oauthReturnUrl ?? dashboardRedirectUri(ctx.appId, ctx.caller.mode);

/**
 * Called when the user presses Connect: a new PKCE state with our nonce in it, added to the
 * pending sign-ins, and the provider URL to send the user to.
 */
export async function prepareSignIn(ctx: FlowContext): Promise<string> {
  const nonce = randomNonce();
  const { state, challenge } = await dashboard().createOAuthState(nonce);
  await secretsOf(ctx).addSignIn({ state, nonce, ...(ctx.config.name && { provider: ctx.config.name }) }, (ctx.now ?? unixNow)());
  return authorizeUrl(ctx.config, { state, challenge, redirectUri: redirectUri(ctx) });
}

/**
 * What the user is told for the RFC 6749 (4.1.2.1) error codes. The provider's own text
 * (`error_description`, or an unknown code) is never shown: it is not ours to vouch for.
 */
const PROVIDER_ERRORS: Record<string, string> = {
  access_denied: 'Access was declined at the provider.',
  invalid_request: 'The provider refused the sign-in request as malformed. Check the app configuration.',
  unauthorized_client: 'The provider does not let this client sign in this way. Check the client configuration.',
  unsupported_response_type: 'The provider does not support this sign-in flow.',
  invalid_scope: 'The provider refused the requested scopes. Check SCOPES.',
  server_error: 'The provider had an error. Try again.',
  temporarily_unavailable: 'The provider is temporarily unavailable. Try again shortly.',
};

export const providerErrorMessage = (error: string | undefined) =>
  (error && Object.hasOwn(PROVIDER_ERRORS, error) ? PROVIDER_ERRORS[error] : undefined) ?? 'The provider did not grant access.';

/**
 * Whether a return from a provider is this provider's view's to take: the one its pending sign-in
 * was started for. A return matching no pending sign-in is the first provider's (`first`), which
 * says so.
 */
export async function returnIsFor(ctx: FlowContext, oauth: OAuthReturn, first: boolean): Promise<boolean> {
  const pending = await secretsOf(ctx).findSignIn(oauth.state, (ctx.now ?? unixNow)());
  return pending ? pending.provider === ctx.config.name : first;
}

/** Handles the provider's answer: checks the state, exchanges the code once, and loads the access token. */
export async function completeSignIn(ctx: FlowContext, oauth: OAuthReturn): Promise<Access> {
  ctx.handled.add(oauth);
  // The Dashboard hands back a verifier only for a state it issued; this check adds that the
  // sign-in is one this app started and has not used yet — for errors too, so a forged error
  // return cannot show anything.
  const pending = await secretsOf(ctx).takeSignIn(oauth.state, (ctx.now ?? unixNow)());
  if (!pending) throw new FlowError('state_mismatch', 'This sign-in does not match one this app started (or it expired). Connect again.');
  // Mix-up defence: no `iss` comes back (RFC 9207 is out of reach), so the code goes only to the
  // provider the sign-in was started for; the view that takes the return is that provider's (returnIsFor).
  if (pending.provider !== ctx.config.name) throw new FlowError('state_mismatch', 'This sign-in was started for another provider. Connect again.');
  if (!oauth.code) throw new FlowError('provider_error', providerErrorMessage(oauth.error));
  const { code } = oauth;
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
  return loadAccess(ctx);
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
  const body = (await response.json().catch(() => ({}))) as Partial<TokenResponse>;
  if (!response.ok || typeof body.access_token !== 'string' || typeof body.token_type !== 'string') {
    throw new FlowError('exchange_failed', `The provider refused the code (HTTP ${response.status}).`);
  }
  const expiresIn = Number(body.expires_in);
  const tokens = tokenPayloads(
    { ...body, access_token: body.access_token, token_type: body.token_type, expires_in: expiresIn > 0 ? expiresIn : undefined },
    undefined,
    (ctx.now ?? unixNow)(),
    config.defaultAccessLifetimeSeconds,
  );
  await secretsOf(ctx).writeTokens(tokens);
  await callBackend(config, ctx.caller, '/api/connection');
}

/** The access token from its secret when it has time left; else the backend's answer (it refreshes). */
export async function loadAccess(ctx: FlowContext): Promise<Access> {
  const access = await secretsOf(ctx).readAccess();
  if (access && access.expires_at - (ctx.now ?? unixNow)() > MIN_REMAINING_SECONDS) {
    return { kind: 'usable', accessToken: access.access_token, expiresAt: access.expires_at, scope: access.scope ?? null };
  }
  try {
    const token = await callBackend<{ access_token: string; expires_at: number; scope: string | null }>(ctx.config, ctx.caller, '/api/token');
    return { kind: 'usable', accessToken: token.access_token, expiresAt: token.expires_at, scope: token.scope };
  } catch (err) {
    if (err instanceof BackendError && err.code === 'not_connected') return { kind: 'none' };
    if (err instanceof BackendError && err.code === 'reconnect_required') return { kind: 'lost' };
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

/**
 * Who is connected, by calling the provider's profile endpoint as the connection — through the
 * backend's proxy, or directly for a provider that answers the sandbox's CORS (`API_ACCESS`):
 * proof that the connection works. A proxy that finds the grant gone says reconnect_required.
 */
export async function fetchProfile(ctx: FlowContext, access: Extract<Access, { kind: 'usable' }>): Promise<Profile | undefined> {
  const { config } = ctx;
  if (!config.profilePath) return undefined;
  let answer: { status: number; body: unknown };
  if (config.apiAccess === 'proxy') {
    answer = await callBackend(config, ctx.caller, '/api/proxy', { method: config.profileMethod, path: config.profilePath });
  } else {
    const response = await fetch(`${config.apiBase}${config.profilePath}`, { method: config.profileMethod, headers: { Authorization: `Bearer ${access.accessToken}` } });
    answer = { status: response.status, body: await response.json().catch(() => undefined) };
  }
  if (answer.status < 200 || answer.status >= 300 || typeof answer.body !== 'object' || answer.body === null) {
    throw new Error(`The provider answered ${answer.status} to the profile request.`);
  }
  const p = answer.body as Record<string, unknown>;
  const nested = p.name && typeof p.name === 'object' ? (p.name as Record<string, unknown>).display_name : undefined;
  const name = [typeof p.name === 'string' ? p.name : nested, p.display_name, p.login, p.email, p.sub].find((v) => typeof v === 'string' && v);
  return { name: String(name ?? 'unknown'), email: typeof p.email === 'string' ? p.email : undefined };
}
