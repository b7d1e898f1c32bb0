/**
 * The extension's own Secret Store access through the Dashboard's `stripeApiFetch` (no `stripe`
 * package in the view bundle): reading the access token and, in extension exchange mode, writing
 * both secrets — in the connection's scope (the user's own, or the account's) — and the pending
 * sign-ins of `oauth.state`, always in the user's own scope.
 */
import { dashboard } from './dashboard';
import type { ConnectionScope } from '../common/connection-id';
import { STRIPE_API_VERSION } from '../common/stripe-api-version';
import { AccessPayload, decodeAccess, encodePayload, RefreshPayload, SECRET_NAMES, secretNames, STATE_LIFETIME_SECONDS } from '../common/token-layout';

/**
 * A sign-in in progress: the Dashboard's state, the nonce this app embedded in it, until when it
 * counts, and the provider it was started for (none: the one unnamed provider) — its code goes to
 * that provider only, whatever the view shows when it comes back.
 */
export interface PendingSignIn {
  state: string;
  nonce: string;
  expires_at: number;
  provider?: string;
}

/** Sign-ins kept at once (two drawers, a reopened drawer); the oldest goes first. */
const MAX_PENDING_SIGN_INS = 5;

const SECRETS_URL = 'https://api.stripe.com/v1/apps/secrets';

class SecretStoreError extends Error {
  constructor(readonly status: number) {
    super(`The Secret Store answered ${status}.`);
  }
}

export class ExtensionSecrets {
  constructor(
    private readonly userId: string,
    /** Where the connection's tokens are: the user's scope, or the account's. */
    private readonly tokenScope: ConnectionScope = 'user',
    /** Whose tokens: a named provider's, or the unnamed one's. */
    private readonly provider?: string,
  ) {}

  private async request(path: string, method: 'GET' | 'POST', params: Record<string, string>, scope: ConnectionScope = 'user'): Promise<{ payload?: string } | undefined> {
    const scoped: Record<string, string> = scope === 'account' ? { 'scope[type]': 'account' } : { 'scope[type]': 'user', 'scope[user]': this.userId };
    const form = new URLSearchParams({ ...params, ...scoped }).toString();
    const response = await dashboard().stripeApiFetch(method === 'GET' ? `${SECRETS_URL}${path}?${form}` : `${SECRETS_URL}${path}`, {
      method,
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Stripe-Version': STRIPE_API_VERSION },
      ...(method === 'POST' && { body: form }),
    });
    if (response.status === 404) return undefined;
    if (!response.ok) throw new SecretStoreError(response.status);
    return response.json as { payload?: string };
  }

  private async read(name: string, scope?: ConnectionScope): Promise<string | undefined> {
    return (await this.request('/find', 'GET', { name, 'expand[]': 'payload' }, scope))?.payload ?? undefined;
  }

  private async write(name: string, payload: string, expiresAt: number | null, scope?: ConnectionScope): Promise<void> {
    await this.request('', 'POST', { name, payload, ...(expiresAt !== null && { expires_at: String(expiresAt) }) }, scope);
  }

  private async remove(name: string): Promise<void> {
    await this.request('/delete', 'POST', { name });
  }

  /** The stored access token, or undefined when there is none (or it is not in our format). */
  async readAccess(): Promise<AccessPayload | undefined> {
    const text = await this.read(secretNames(this.provider).access, this.tokenScope);
    if (text === undefined) return undefined;
    try {
      return decodeAccess(text);
    } catch {
      return undefined;
    }
  }

  /** Extension exchange mode: refresh secret first, access secret second, as the backend writes them. */
  async writeTokens(tokens: { access: AccessPayload; refresh: RefreshPayload }): Promise<void> {
    const names = secretNames(this.provider);
    const refresh = encodePayload(names.refresh, tokens.refresh);
    const access = encodePayload(names.access, tokens.access);
    await this.write(names.refresh, refresh, tokens.refresh.expires_at, this.tokenScope);
    await this.write(names.access, access, tokens.access.expires_at, this.tokenScope);
  }

  private async pendingSignIns(now: number): Promise<PendingSignIn[]> {
    const text = await this.read(SECRET_NAMES.state);
    if (text === undefined) return [];
    try {
      const parsed = JSON.parse(text) as { v?: number; pending?: unknown };
      const pending = parsed.v === 2 && Array.isArray(parsed.pending) ? (parsed.pending as PendingSignIn[]) : [];
      return pending.filter((p) => typeof p?.state === 'string' && typeof p.nonce === 'string' && typeof p.expires_at === 'number' && p.expires_at > now);
    } catch {
      return [];
    }
  }

  private async savePendingSignIns(pending: PendingSignIn[]): Promise<void> {
    if (pending.length === 0) return this.remove(SECRET_NAMES.state);
    const expiresAt = Math.max(...pending.map((p) => p.expires_at));
    await this.write(SECRET_NAMES.state, JSON.stringify({ v: 2, pending }), expiresAt);
  }

  /** Adds a sign-in beside those still pending (at most MAX_PENDING_SIGN_INS, the oldest dropped). */
  async addSignIn(sign: { state: string; nonce: string; provider?: string }, now: number): Promise<void> {
    const pending = await this.pendingSignIns(now);
    pending.push({ ...sign, expires_at: now + STATE_LIFETIME_SECONDS });
    await this.savePendingSignIns(pending.slice(-MAX_PENDING_SIGN_INS));
  }

  /**
   * The pending sign-in whose state (whole, or the embedded nonce: Stripe's docs leave open which
   * `oauthContext.state` carries) matches, removed as it is taken — the others stay.
   */
  async takeSignIn(state: string | undefined, now: number): Promise<PendingSignIn | undefined> {
    if (!state) return undefined;
    const pending = await this.pendingSignIns(now);
    const match = matching(pending, state);
    if (match) await this.savePendingSignIns(pending.filter((p) => p !== match));
    return match;
  }

  /** The pending sign-in a return answers, left in place (which provider's view takes it). */
  async findSignIn(state: string | undefined, now: number): Promise<PendingSignIn | undefined> {
    return state ? matching(await this.pendingSignIns(now), state) : undefined;
  }
}

const matching = (pending: PendingSignIn[], state: string) => pending.find((p) => p.state === state || p.nonce === state);

