/**
 * The extension's own reads and writes in its user's scope, through the Dashboard's Stripe
 * client: the access secret (read directly, so most views need no backend call), the tokens
 * in extension exchange mode, and the OAuth state of a sign-in in progress.
 */
import type Stripe from 'stripe';
import { dashboard } from './dashboard';
import { AccessPayload, decodeAccess, encodePayload, RefreshPayload, SECRET_NAMES } from './token-layout';

/** A sign-in in progress: the Dashboard's state and the nonce this app embedded in it. */
export interface IssuedState {
  state: string;
  nonce: string;
}

const isMissing = (err: unknown) => (err as { statusCode?: number }).statusCode === 404;

export class ExtensionSecrets {
  private readonly scope: { type: 'user'; user: string };

  constructor(userId: string) {
    this.scope = { type: 'user', user: userId };
  }

  private get secrets(): Stripe['apps']['secrets'] {
    return dashboard().stripe().apps.secrets;
  }

  private async read(name: string): Promise<string | undefined> {
    try {
      return (await this.secrets.find({ name, scope: this.scope, expand: ['payload'] })).payload ?? undefined;
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  private async remove(name: string): Promise<void> {
    try {
      await this.secrets.deleteWhere({ name, scope: this.scope });
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
  }

  /** The stored access token, or undefined when there is none (or it is not in our format). */
  async readAccess(): Promise<AccessPayload | undefined> {
    const text = await this.read(SECRET_NAMES.access);
    if (text === undefined) return undefined;
    try {
      return decodeAccess(text);
    } catch {
      return undefined;
    }
  }

  /** Extension exchange mode: refresh secret first, access secret second, as the backend writes them. */
  async writeTokens(tokens: { access: AccessPayload; refresh: RefreshPayload }): Promise<void> {
    const refresh = encodePayload(SECRET_NAMES.refresh, tokens.refresh);
    const access = encodePayload(SECRET_NAMES.access, tokens.access);
    await this.secrets.create({
      name: SECRET_NAMES.refresh,
      payload: refresh,
      scope: this.scope,
      ...(tokens.refresh.expires_at !== null && { expires_at: tokens.refresh.expires_at }),
    });
    await this.secrets.create({ name: SECRET_NAMES.access, payload: access, scope: this.scope, expires_at: tokens.access.expires_at });
  }

  async writeState(issued: IssuedState, expiresAt: number): Promise<void> {
    await this.secrets.create({ name: SECRET_NAMES.state, payload: JSON.stringify({ v: 1, ...issued }), scope: this.scope, expires_at: expiresAt });
  }

  /** The issued state, removed as it is read: a state completes one sign-in only. */
  async takeState(): Promise<IssuedState | undefined> {
    const text = await this.read(SECRET_NAMES.state);
    if (text === undefined) return undefined;
    await this.remove(SECRET_NAMES.state);
    try {
      const { state, nonce } = JSON.parse(text) as Partial<IssuedState>;
      return typeof state === 'string' && typeof nonce === 'string' ? { state, nonce } : undefined;
    } catch {
      return undefined;
    }
  }
}
