/**
 * The Dashboard's side of the SDK's host calls, written from Stripe's documentation and
 * independently of the backend's code: the one implementation the tests (and any local host)
 * use for `createOAuthState`, `fetchStripeSignature` and `stripeApiFetch`.
 *
 * - `createOAuthState(custom)`: a state with the custom value embedded and a S256 challenge;
 *   the verifier stays here and comes back, with the code, in `oauthContext` — only for a
 *   state this Dashboard issued.
 * - `fetchStripeSignature(additional)`: Stripe's build-backend page signs
 *   `JSON.stringify({...additional, user_id, account_id})` with the app signing secret, as
 *   `t=<unix>,v1=<hex HMAC-SHA256 of "t.payload">` (the webhook scheme).
 * - `stripeApiFetch`: the API as the current user, who can reach the account scope and their
 *   own user scope only.
 * - The app embedded key (SDK 9.1+, when `supportsFetchAppEmbeddedKey()` answers true, as
 *   today's Dashboard does): the view itself calls https://api.stripe.com with a key the
 *   Dashboard issued for the session (`fetchAppEmbeddedKey`); the SDK then signs through
 *   `GET /v1/apps/app_embedded_backend_signature?payload=<JSON of the additional payload>&include_only[]=signature`,
 *   answered with the same signature as `fetchStripeSignature`, and reaches the Secret Store
 *   with the same reach as `stripeApiFetch`.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { ConnectionId } from '../../../src/common/connection-id';

/** Who the Dashboard's session is: a user, on an account, in a mode. */
export type DashboardUser = ConnectionId;

/** `claims_first` is Stripe's documented order; `ids_first` is the other plausible one. */
export type SigningOrder = 'claims_first' | 'ids_first';

export function stripeSignature(
  secret: string,
  user: Pick<DashboardUser, 'userId' | 'accountId'>,
  additional: Record<string, unknown>,
  options: { order?: SigningOrder; timestamp?: number } = {},
): string {
  const ids = { user_id: user.userId, account_id: user.accountId };
  const payload = JSON.stringify(options.order === 'ids_first' ? { ...ids, ...additional } : { ...additional, ...ids });
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  return `t=${timestamp},v1=${createHmac('sha256', secret).update(`${timestamp}.${payload}`).digest('hex')}`;
}

/** States kept at once: sign-ins started and not finished (the oldest goes first). */
const MAX_STATES = 100;

export interface OAuthContext {
  code?: string;
  state?: string;
  verifier?: string;
  error?: string;
}

/** The Dashboard's PKCE bookkeeping: states it issued (the latest MAX_STATES), with their verifiers. */
export class OAuthStates {
  private readonly issued = new Map<string, { verifier: string; custom: string }>();

  create(custom = ''): { state: string; challenge: string } {
    const verifier = randomBytes(32).toString('base64url');
    const state = `${randomBytes(16).toString('base64url')}.${custom}`;
    if (this.issued.size >= MAX_STATES) this.issued.delete(this.issued.keys().next().value!);
    this.issued.set(state, { verifier, custom });
    return { state, challenge: createHash('sha256').update(verifier).digest('base64url') };
  }

  /** What the drawer receives after the provider redirected to the Dashboard's return URL. */
  contextFor(callback: URL): OAuthContext {
    const state = callback.searchParams.get('state') ?? '';
    const known = this.issued.get(state);
    const error = callback.searchParams.get('error') ?? undefined;
    if (!known) return { error: error ?? 'invalid_state' };
    const code = callback.searchParams.get('code') ?? undefined;
    return { code, error, state: known.custom, verifier: code ? known.verifier : undefined };
  }
}

/** The SDK's `SerializableResponse` (what `stripeApiFetch` resolves to). */
export interface ApiFetchResponse {
  json?: object;
  headers: Record<string, string>;
  ok: boolean;
  redirected: boolean;
  status: number;
  statusText: string;
  type: string;
  url: string;
}

const API_ORIGIN = 'https://api.stripe.com';

function refused(status: number, type: string, message: string): ApiFetchResponse {
  return { json: { error: { type, message } }, headers: { 'content-type': 'application/json' }, ok: false, redirected: false, status, statusText: '', type: 'basic', url: '' };
}

type ApiInit = { method?: string; body?: string | URLSearchParams; headers?: object };

/**
 * A request to the Stripe API as one Dashboard user, answered by a Stripe API at `apiBase` (the
 * Secret Store emulator) with the mode's key and the user's account. A `scope[user]` other than
 * the current user is refused before anything is sent, as the Dashboard's session cannot reach it.
 */
async function asUser(user: DashboardUser, apiBase: string, secretKey: string, target: URL, init: ApiInit): Promise<Response | ApiRefusal> {
  if (target.origin !== API_ORIGIN) return { status: 400, message: 'The Dashboard session reaches the Stripe API only.' };
  const params = new URLSearchParams(init.body === undefined ? target.search : String(init.body));
  const scopeUser = params.get('scope[user]');
  if (scopeUser !== null && scopeUser !== user.userId) return { status: 403, message: 'A Dashboard user can reach only the account scope and their own user scope.' };
  return fetch(new URL(target.pathname + target.search, apiBase), {
    method: init.method ?? 'GET',
    headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${secretKey}`, 'stripe-account': user.accountId },
    body: init.body === undefined ? undefined : String(init.body),
  });
}

interface ApiRefusal {
  status: number;
  message: string;
}

const isRefusal = (answer: Response | ApiRefusal): answer is ApiRefusal => !(answer instanceof Response);

/** `stripeApiFetch` for one Dashboard user: the SDK's host-call path. */
export function stripeApiFetchAs(user: DashboardUser, apiBase: string, secretKey: string) {
  return async (url: string, init: ApiInit = {}): Promise<ApiFetchResponse> => {
    const target = new URL(url, API_ORIGIN);
    const response = await asUser(user, apiBase, secretKey, target, init);
    if (isRefusal(response)) return refused(response.status, 'invalid_request_error', response.message);
    const headers: Record<string, string> = {};
    response.headers.forEach((value, key) => (headers[key] = value));
    const json = response.headers.get('content-type')?.includes('application/json') ? ((await response.json()) as object) : undefined;
    return { json, headers, ok: response.ok, redirected: false, status: response.status, statusText: response.statusText, type: 'basic', url: target.toString() };
  };
}

const SIGNATURE_PATH = '/v1/apps/app_embedded_backend_signature';

/** Stripe answers `application/json` exactly; the SDK's frame fetch reads JSON only then. */
const json = (status: number, body: object) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

/**
 * The app embedded key path: keys the Dashboard issued (one per session, the latest
 * MAX_STATES), and the Stripe API as such a key reaches it — `fetch` semantics, since the
 * view's frame calls api.stripe.com itself.
 */
export class EmbeddedKeys {
  private readonly issued = new Map<string, DashboardUser>();

  constructor(private readonly options: { apiBase: string; secretKeys: Record<'test' | 'live', string>; signingSecret: string; order?: SigningOrder }) {}

  issue(user: DashboardUser): string {
    const key = `ek_${user.mode}_${randomBytes(24).toString('base64url')}`;
    if (this.issued.size >= MAX_STATES) this.issued.delete(this.issued.keys().next().value!);
    this.issued.set(key, user);
    return key;
  }

  /** Every key issued so far stops working (a new Dashboard session). */
  revokeAll(): void {
    this.issued.clear();
  }

  async fetch(url: string, init: ApiInit = {}): Promise<Response> {
    const headers = new Headers(init.headers as ConstructorParameters<typeof Headers>[0]);
    const user = this.issued.get((headers.get('authorization') ?? '').replace(/^Bearer /, ''));
    if (!user) return json(401, { error: { type: 'invalid_request_error', message: 'Invalid app embedded key.' } });
    const target = new URL(url);
    if (target.origin === API_ORIGIN && target.pathname === SIGNATURE_PATH) {
      let additional: unknown;
      try {
        additional = JSON.parse(target.searchParams.get('payload') ?? '');
      } catch {
        additional = undefined;
      }
      if (typeof additional !== 'object' || additional === null || Array.isArray(additional)) {
        return json(400, { error: { type: 'invalid_request_error', message: 'payload must be a JSON object.' } });
      }
      return json(200, { signature: stripeSignature(this.options.signingSecret, user, additional as Record<string, unknown>, { order: this.options.order }) });
    }
    headers.delete('authorization');
    const answer = await asUser(user, this.options.apiBase, this.options.secretKeys[user.mode], target, { ...init, headers: Object.fromEntries(headers) });
    return isRefusal(answer) ? json(answer.status, { error: { type: 'invalid_request_error', message: answer.message } }) : answer;
  }
}
