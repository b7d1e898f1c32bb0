/**
 * A connection's tokens in the Secret Store, in the shared layout, the refresh payload sealed
 * (token-sealing.ts). Writes go refresh secret first, access secret second: a crash between
 * the two leaves a valid refresh token and an old access token, never the reverse. A write that keeps failing is not dropped: the result
 * stays in memory (and is what reads return) while it is retried in the background, because
 * the stored refresh token is stale once the provider has rotated it.
 */
import { randomUUID } from 'node:crypto';
import {
  AccessPayload,
  decodeAccess,
  decodeRefresh,
  encodePayload,
  fitPayload,
  MalformedPayloadError,
  RefreshPayload,
  SECRET_NAMES,
  TokenTooLargeError,
} from '../src/lib/token-layout';
import { ConnectionId, connectionKey } from '../src/lib/connection-id';
import type { Logger } from './logger';
import { TokenSealer, UnsealError } from './token-sealing';
import type { SecretStoreClients } from './user-secrets';

/**
 * A refresh secret the backend will not redeem: sealed for another connection or with an
 * unknown key, altered, or unsealed where only sealed ones are accepted.
 */
export const UNUSABLE = 'unusable';
export type StoredRefresh = RefreshPayload | typeof UNUSABLE;

export interface Tokens {
  access: AccessPayload;
  refresh: RefreshPayload;
}

interface PendingWrite {
  connection: ConnectionId;
  tokens: Tokens;
  idempotencyKey: string;
  attempts: number;
  timer?: NodeJS.Timeout;
}

const RETRY_CAP_MS = 30_000;

export class TokenStore {
  private readonly pending = new Map<string, PendingWrite>();

  constructor(
    private readonly secrets: SecretStoreClients,
    private readonly sealer: TokenSealer,
    /** Unsealed refresh payloads come from the extension's own exchange: public clients only. */
    private readonly acceptUnsealed: boolean,
    private readonly logger: Logger,
    private readonly retryBaseMs = 1000,
  ) {}

  private decode<T>(connection: ConnectionId, kind: string, text: string | undefined, decode: (t: string) => T): T | undefined {
    if (text === undefined) return undefined;
    try {
      return decode(text);
    } catch (err) {
      if (!(err instanceof MalformedPayloadError)) throw err;
      this.logger.warn({ connection: connectionKey(connection), secret: kind }, 'ignoring a stored payload in an unknown format');
      return undefined;
    }
  }

  async readAccess(connection: ConnectionId): Promise<AccessPayload | undefined> {
    const pending = this.pending.get(connectionKey(connection));
    if (pending) return pending.tokens.access;
    const text = await this.secrets.forConnection(connection).read(SECRET_NAMES.access);
    return this.decode(connection, 'access', text, decodeAccess);
  }

  async readRefresh(connection: ConnectionId): Promise<StoredRefresh | undefined> {
    const pending = this.pending.get(connectionKey(connection));
    if (pending) return pending.tokens.refresh;
    const text = await this.secrets.forConnection(connection).read(SECRET_NAMES.refresh);
    if (text === undefined) return undefined;
    if (!TokenSealer.isSealed(text) && !this.acceptUnsealed) {
      this.logger.warn({ connection: connectionKey(connection) }, 'the refresh secret is not sealed by this backend; it will not be redeemed');
      return UNUSABLE;
    }
    try {
      const plain = TokenSealer.isSealed(text) ? this.sealer.open(text, connection, SECRET_NAMES.refresh) : text;
      return this.decode(connection, 'refresh', plain, decodeRefresh) ?? UNUSABLE;
    } catch (err) {
      if (!(err instanceof UnsealError)) throw err;
      this.logger.warn({ connection: connectionKey(connection) }, 'the refresh secret does not open with this backend\'s keys; it will not be redeemed');
      return UNUSABLE;
    }
  }

  /** Both payloads are encoded before the first write, so a token too large for the store writes nothing. */
  private async store(connection: ConnectionId, tokens: Tokens, idempotencyKey: string): Promise<void> {
    const refresh = fitPayload(SECRET_NAMES.refresh, this.sealer.seal(encodePayload(SECRET_NAMES.refresh, tokens.refresh), connection, SECRET_NAMES.refresh));
    const access = encodePayload(SECRET_NAMES.access, tokens.access);
    const secrets = this.secrets.forConnection(connection);
    await secrets.write(SECRET_NAMES.refresh, refresh, tokens.refresh.expires_at, `${idempotencyKey}:refresh`);
    await secrets.write(SECRET_NAMES.access, access, tokens.access.expires_at, `${idempotencyKey}:access`);
  }

  /**
   * Writes both secrets. Returns 'stored', or 'pending' when the store kept failing and the
   * tokens are held in memory for background retries. Throws only for tokens that cannot fit.
   */
  async write(connection: ConnectionId, tokens: Tokens): Promise<'stored' | 'pending'> {
    const key = connectionKey(connection);
    this.cancelPending(key);
    const idempotencyKey = `tokens-${randomUUID()}`;
    try {
      await this.store(connection, tokens, idempotencyKey);
      return 'stored';
    } catch (err) {
      if (err instanceof TokenTooLargeError) throw err;
      this.logger.error({ connection: key, err: describeError(err) }, 'Secret Store write failed; holding the tokens in memory and retrying');
      const entry: PendingWrite = { connection, tokens, idempotencyKey, attempts: 0 };
      this.pending.set(key, entry);
      this.schedule(entry);
      return 'pending';
    }
  }

  private schedule(entry: PendingWrite): void {
    const delay = Math.min(RETRY_CAP_MS, this.retryBaseMs * 2 ** entry.attempts);
    entry.timer = setTimeout(() => void this.flush(entry), delay);
    entry.timer.unref();
  }

  private async flush(entry: PendingWrite): Promise<void> {
    const key = connectionKey(entry.connection);
    if (this.pending.get(key) !== entry) return;
    entry.attempts++;
    try {
      await this.store(entry.connection, entry.tokens, entry.idempotencyKey);
      if (this.pending.get(key) === entry) this.pending.delete(key);
      this.logger.info({ connection: key, attempts: entry.attempts }, 'held tokens written to the Secret Store');
    } catch (err) {
      if (this.pending.get(key) !== entry) return;
      this.logger.warn({ connection: key, attempts: entry.attempts, err: describeError(err) }, 'Secret Store write retry failed');
      this.schedule(entry);
    }
  }

  /** True while a write for this connection is held in memory. */
  isPending(connection: ConnectionId): boolean {
    return this.pending.has(connectionKey(connection));
  }

  private cancelPending(key: string): void {
    const entry = this.pending.get(key);
    if (entry?.timer) clearTimeout(entry.timer);
    this.pending.delete(key);
  }

  async remove(connection: ConnectionId): Promise<void> {
    this.cancelPending(connectionKey(connection));
    const secrets = this.secrets.forConnection(connection);
    await secrets.remove(SECRET_NAMES.access);
    await secrets.remove(SECRET_NAMES.refresh);
  }

  /** Shutdown: one last attempt at each held write, then the background retries stop. */
  async close(): Promise<void> {
    const held = [...this.pending.values()];
    for (const entry of held) if (entry.timer) clearTimeout(entry.timer);
    await Promise.allSettled(held.map((entry) => this.flush(entry)));
    for (const entry of held) this.cancelPending(connectionKey(entry.connection));
  }
}

/** Error class and status only: Stripe error messages can echo parameters. */
export function describeError(err: unknown): string {
  if (err && typeof err === 'object' && 'type' in err) {
    const e = err as { type: string; statusCode?: number; code?: string };
    return `${e.type}${e.statusCode ? ` ${e.statusCode}` : ''}${e.code ? ` ${e.code}` : ''}`;
  }
  return err instanceof Error ? err.name : 'unknown error';
}
