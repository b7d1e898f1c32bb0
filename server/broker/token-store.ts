/**
 * A connection's tokens in the Secret Store, in the shared layout, the refresh payload sealed
 * (token-sealing.ts), and the outbox that keeps a rotated refresh token from ever being lost.
 *
 * With rotation the newest refresh token is the connection: once the provider has issued it,
 * the old one is spent. So a new token set is first committed to the outbox (the broker's
 * database, sealed) and only then written to the Secret Store, refresh secret first and access
 * secret second; the outbox entry goes once both are stored. A crash, or a Secret Store outage,
 * between the provider's answer and the store's write leaves the tokens in the outbox, and any
 * instance flushes them later under the connection's lock.
 *
 * Writes are fenced by generation: a flush never replaces a newer stored generation, so a late
 * flush cannot put a spent token back. It knows the stored generation either from a read under
 * the lock it still holds — confirmed, lease renewed, right before the writes, so nobody else can
 * have written since — or by reading it again. And each write attempt is fenced by the lock
 * (connection-lock.ts): a holder whose lease lapsed sends nothing more, and its entry waits in
 * the outbox for whoever holds the lock next.
 * Before any of that, the provider's answer itself is kept: sealed as it came, before anything
 * reads it (`keep`). Reading it — openid-client's parsing and checks — takes time, and a crash
 * then would lose the only copy of the new refresh token; a kept answer not yet taken is taken
 * by the next lock holder (the refresh engine, `current`'s `kept`).
 * A provider's answer is never dropped while the process lives: when the database cannot take
 * the outbox entry, the token set is held in memory and written to the Secret Store straight away.
 * Reads only read; every method that changes or flushes tokens expects the caller to hold the
 * connection's lock.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import Stripe from 'stripe';
import { type ConnectionId, connectionKey } from '../../src/common/connection-id';
import {
  type AccessPayload,
  decodeAccess,
  decodeRefresh,
  encodePayload,
  fitPayload,
  MalformedPayloadError,
  MAX_SECRETS_PER_SCOPE,
  type RefreshPayload,
  secretNames,
} from '../../src/common/token-layout';
import { isStorageUnavailable } from '../storage/errors';
import { type ChangeNotices, type Outbox, type OutboxEntry, UNKNOWN_SEALING_KEY } from '../storage/ports';
import type { AccessCache } from './access-cache';
import { LeaseLapsedError } from './connection-lock';
import { describeError, isTransientStripeError, sealingKeyMissing } from './errors';
import type { Metrics } from './metrics';
import type { SecretStoreClients } from './secret-store';
import { KeyNotHereError, TokenSealer, UNSEALED, UnsealError } from './token-sealing';

/**
 * A refresh secret the backend will not redeem: sealed for another connection, altered, or
 * unsealed where only sealed ones are accepted. One sealed with a key this instance lacks is not
 * unusable: reading it throws 503 `sealing_key_missing` (see `open`).
 */
export const UNUSABLE = 'unusable';
export type StoredRefresh = RefreshPayload | typeof UNUSABLE;

/** A token set: what one exchange or refresh produced. */
export interface Tokens {
  access: AccessPayload;
  refresh: RefreshPayload;
}

/** A connection's newest tokens; `held` when they are the outbox's, not yet in the Secret Store. */
export interface Newest {
  access?: AccessPayload;
  refresh?: StoredRefresh;
  held: boolean;
}

/** A provider's answer to a refresh of `previous`, as it came (`raw`), received at `at` (unix seconds). */
export interface KeptAnswer {
  raw: string;
  previous: RefreshPayload;
  at: number;
}

/**
 * What a lock holder read of the store: the newest refresh payload (the outbox's when it holds a
 * newer one, with its access payload), the generation the store holds, and an answer kept but
 * not yet taken when it is newer than both.
 */
export interface Current extends Newest {
  storedGeneration: number | undefined;
  kept?: KeptAnswer;
}

/** The stored generation as read under a lock, and the confirmation that the lock is still held (its lease renewed). */
export interface KnownStore {
  storedGeneration: number | undefined;
  stillHeld(): Promise<boolean>;
}

export type FlushResult = 'stored' | 'superseded' | 'pending' | 'none';

/**
 * What a re-seal found: the secret re-sealed, already current, unsealed (the extension's own
 * write), missing, sealed with a key this instance lacks (key_missing), not opening (unusable),
 * or a held token set not written yet (pending).
 */
export interface ResealOutcome {
  outcome: 'resealed' | 'current' | 'unsealed' | 'missing' | 'key_missing' | 'unusable' | 'pending';
  sealedWith?: string;
}

/** A token set's two secrets as the Secret Store holds them: the refresh payload sealed, the access payload plain. */
interface Payloads {
  refresh: string;
  access: string;
}

/** The outbox entry's and the kept answer's associated data: each opens only for its connection, and only as what it is. */
const OUTBOX = 'outbox';
const ANSWER = 'answer';

/** Missing key ids are logged once each, and at most this many: a Dashboard user can write any id into their own scope. */
const MISSING_KEYS_LOGGED = 20;

export interface TokenStoreParts {
  secrets: SecretStoreClients;
  outbox: Outbox;
  notices: ChangeNotices;
  sealer: TokenSealer;
  metrics: Metrics;
  /** Unsealed refresh payloads come from the extension's own exchange: public clients only. */
  acceptUnsealed: (connection: ConnectionId) => boolean;
  cache: AccessCache;
  logger: Logger;
  /** Unix seconds by the fleet's clock. */
  now: () => number;
}

/** A connection's two secrets: its provider's names. */
const namesOf = (connection: ConnectionId) => secretNames(connection.provider);

export class TokenStore {
  /** Outbox entries the database could not take: kept here until the Secret Store has them. */
  private readonly memory = new Map<string, { connection: ConnectionId; entry: OutboxEntry }>();
  private readonly missingKeysLogged = new Set<string>();

  constructor(private readonly parts: TokenStoreParts) {}

  /**
   * Every change of a connection's tokens (also the extension's own writes): this instance's cache
   * and the others' drop it. Without the database the others cache nothing (their notices are down).
   */
  async changed(connection: ConnectionId): Promise<void> {
    this.parts.cache.invalidate(connectionKey(connection));
    await this.parts.notices.announce(connection).catch((err: unknown) => {
      if (!isStorageUnavailable(err)) throw err;
    });
  }

  /** The id of the key refresh secrets are sealed with now. */
  get sealingKeyId(): string {
    return this.parts.sealer.currentKeyId;
  }

  /** Of the key ids the registry's records name (`sealedWith`: ids, `UNSEALED` or UNKNOWN_SEALING_KEY), the keys this instance lacks. */
  keysMissingHere(recorded: string[]): string[] {
    return recorded.filter((id) => id !== UNSEALED && id !== UNKNOWN_SEALING_KEY && !this.parts.sealer.holds(id));
  }

  /** Connections whose tokens only this process holds (the database was down when they came). */
  heldInMemory(): ConnectionId[] {
    return [...this.memory.values()].map((m) => m.connection);
  }

  private async entry(connection: ConnectionId): Promise<OutboxEntry | undefined> {
    return this.memory.get(connectionKey(connection))?.entry ?? this.parts.outbox.get(connection);
  }

  private decode<T>(connection: ConnectionId, kind: string, text: string, decode: (t: string) => T): T | undefined {
    try {
      return decode(text);
    } catch (err) {
      if (!(err instanceof MalformedPayloadError)) throw err;
      this.parts.logger.warn({ connection: connectionKey(connection), secret: kind }, 'ignoring a stored payload in an unknown format');
      return undefined;
    }
  }

  /** The access secret as stored (the fast path: one Secret Store read, no outbox). */
  async readAccess(connection: ConnectionId): Promise<AccessPayload | undefined> {
    const text = await this.parts.secrets.forConnection(connection).read(namesOf(connection).access);
    return text === undefined ? undefined : this.decode(connection, 'access', text, decodeAccess);
  }

  /** The refresh secret as stored, opened (503 `sealing_key_missing` when sealed with a key this instance lacks). */
  async readRefresh(connection: ConnectionId): Promise<StoredRefresh | undefined> {
    const text = await this.parts.secrets.forConnection(connection).read(namesOf(connection).refresh);
    return text === undefined ? undefined : this.openRefresh(connection, text);
  }

  private openRefresh(connection: ConnectionId, text: string): StoredRefresh {
    const key = connectionKey(connection);
    if (!TokenSealer.isSealed(text) && !this.parts.acceptUnsealed(connection)) {
      this.parts.logger.warn({ connection: key }, 'the refresh secret is not sealed by this backend; it will not be redeemed');
      return UNUSABLE;
    }
    try {
      const plain = TokenSealer.isSealed(text) ? this.open(text, connection, namesOf(connection).refresh) : text;
      return this.decode(connection, 'refresh', plain, decodeRefresh) ?? UNUSABLE;
    } catch (err) {
      // A key this instance lacks is 503 `sealing_key_missing` (a BrokerError): only what does not open at all is unusable.
      if (!(err instanceof UnsealError)) throw err;
      this.parts.logger.warn({ connection: key }, "the refresh secret does not open with this backend's keys; it will not be redeemed");
      return UNUSABLE;
    }
  }

  /**
   * Opens a sealed payload. One sealed with a key this instance lacks (a rotation half rolled out,
   * a key left out) was not altered: it is 503 `sealing_key_missing`, nothing is removed or
   * changed, and it opens again where the key is. The missing key's id is logged when first met.
   */
  private open(text: string, connection: ConnectionId, secretName: string): string {
    try {
      return this.parts.sealer.open(text, connection, secretName);
    } catch (err) {
      if (!(err instanceof KeyNotHereError)) throw err;
      this.parts.metrics.sealingKeyMissing.inc();
      if (!this.missingKeysLogged.has(err.keyId) && this.missingKeysLogged.size < MISSING_KEYS_LOGGED) {
        this.missingKeysLogged.add(err.keyId);
        this.parts.logger.error(
          { missingKey: err.keyId, connection: connectionKey(connection) },
          'a sealed payload uses a key TOKEN_SEALING_KEYS lacks here: its connection answers 503 sealing_key_missing, and keeps its secrets, until the key is added',
        );
      }
      throw sealingKeyMissing();
    }
  }

  /** An outbox entry's payloads, exactly as they will be written, and the token set they hold. */
  private openEntry(connection: ConnectionId, entry: OutboxEntry): { payloads: Payloads; tokens: Tokens } {
    const payloads = JSON.parse(this.open(entry.sealed, connection, OUTBOX)) as Payloads;
    const refresh = decodeRefresh(this.open(payloads.refresh, connection, namesOf(connection).refresh));
    return { payloads, tokens: { access: decodeAccess(payloads.access), refresh } };
  }

  /**
   * Re-seals the stored refresh secret with the current key (after a rotation of
   * TOKEN_SEALING_KEYS), a held token set written first so nothing sealed with an older key stays
   * behind. Says which key the stored secret is sealed with afterwards. Under the lock.
   */
  async reseal(connection: ConnectionId): Promise<ResealOutcome> {
    if ((await this.flush(connection)) === 'pending') return { outcome: 'pending' };
    const secrets = this.parts.secrets.forConnection(connection);
    const text = await secrets.read(namesOf(connection).refresh);
    if (text === undefined) return { outcome: 'missing' };
    const keyId = TokenSealer.keyIdOf(text);
    if (keyId === undefined) return { outcome: 'unsealed', sealedWith: UNSEALED };
    if (keyId === this.sealingKeyId) return { outcome: 'current', sealedWith: keyId };
    if (!this.parts.sealer.holds(keyId)) return { outcome: 'key_missing' };
    const refresh = this.openRefresh(connection, text);
    if (refresh === UNUSABLE) return { outcome: 'unusable' };
    const name = namesOf(connection).refresh;
    const sealed = fitPayload(name, this.parts.sealer.seal(encodePayload(name, refresh), connection, name));
    await secrets.write(name, sealed, refresh.expires_at, `${randomUUID()}:reseal`);
    return { outcome: 'resealed', sealedWith: this.sealingKeyId };
  }

  /** Whether the user's scope has room for the connection's two secrets (the ones it holds already count as room). */
  async hasRoom(connection: ConnectionId): Promise<boolean> {
    const names = await this.parts.secrets.forConnection(connection).names();
    const missing = Object.values(namesOf(connection)).filter((name) => !names.includes(name)).length;
    return names.length + missing <= MAX_SECRETS_PER_SCOPE;
  }

  /**
   * The newest refresh payload of a connection, for a lock holder: the outbox's when it holds a
   * generation newer than the stored one (with its access payload: neither has reached the
   * Secret Store yet), else the store's; and an answer kept but not taken that is newer still
   * (a crash came while it was read). One Secret Store read.
   */
  async current(connection: ConnectionId): Promise<Current> {
    const [current, answer] = await Promise.all([this.held(connection), this.parts.outbox.answer(connection)]);
    if (!answer) return current;
    if (answer.generation > (generationOf(current.refresh) ?? 0)) {
      return { ...current, kept: JSON.parse(this.open(answer.sealed, connection, ANSWER)) as KeptAnswer };
    }
    // Its token set reached the Secret Store through memory while the database was away: nothing is
    // left to take. A database still away leaves it for the next holder (it is not newer, so not taken).
    await this.parts.outbox.dropAnswer(connection, answer.generation).catch((err: unknown) => {
      if (!isStorageUnavailable(err)) throw err;
    });
    return current;
  }

  /** The newest token set: the outbox's (held) when newer than the store's. */
  private async held(connection: ConnectionId): Promise<Current> {
    const [entry, refresh] = await Promise.all([this.entry(connection), this.readRefresh(connection)]);
    const storedGeneration = generationOf(refresh);
    if (entry && !supersedes(refresh, entry)) return { ...this.openEntry(connection, entry).tokens, held: true, storedGeneration };
    return { refresh, held: false, storedGeneration };
  }

  /** The newest tokens of a connection, the access payload too (for status, and reads outside a refresh). */
  async newest(connection: ConnectionId): Promise<Newest> {
    const [current, access] = await Promise.all([this.held(connection), this.readAccess(connection)]);
    return current.held ? current : { access, refresh: current.refresh, held: false };
  }

  /**
   * Keeps the provider's answer, sealed, before anything reads it: true once it is durable. A
   * database that cannot take it costs nothing but the crash safety: the answer is read on.
   */
  async keep(connection: ConnectionId, answer: KeptAnswer): Promise<boolean> {
    const generation = answer.previous.generation + 1;
    try {
      await this.parts.outbox.keepAnswer(connection, { generation, sealed: this.parts.sealer.seal(JSON.stringify(answer), connection, ANSWER) });
      return true;
    } catch (err) {
      if (!isStorageUnavailable(err)) throw err;
      this.parts.logger.warn({ connection: connectionKey(connection), generation, err: describeError(err) }, "the provider's answer could not be kept before it was read; it is read now");
      return false;
    }
  }

  /** A kept answer with nothing to take in it goes (the token set, if any, stays). Under the lock. */
  async dropAnswer(connection: ConnectionId, generation: number): Promise<void> {
    await this.parts.outbox.dropAnswer(connection, generation);
  }

  /**
   * Commits new tokens to the outbox (`durable` runs once they are there), then writes them to the
   * Secret Store. 'stored', or 'pending' when the store is failing (they stay in the outbox and are
   * flushed later). A database that cannot take them leaves them in memory, and the Secret Store
   * write goes ahead. Throws TokenTooLargeError, before anything is committed, for tokens that cannot fit.
   */
  async commit(connection: ConnectionId, tokens: Tokens, durable: () => void = () => undefined, known?: KnownStore): Promise<FlushResult> {
    // Sealed once: every flush of this entry, by any instance, writes the same bytes.
    const payloads = this.encode(connection, tokens);
    const entry = { generation: tokens.refresh.generation, sealed: this.parts.sealer.seal(JSON.stringify(payloads), connection, OUTBOX) };
    try {
      await this.parts.outbox.put(connection, entry);
      durable();
    } catch (err) {
      if (!isStorageUnavailable(err)) throw err;
      this.memory.set(connectionKey(connection), { connection, entry });
      this.parts.logger.error(
        { connection: connectionKey(connection), generation: entry.generation, err: describeError(err) },
        'the outbox could not take a new token set; it is held in memory and written to the Secret Store',
      );
    }
    await this.changed(connection);
    return this.flush(connection, known);
  }

  private encode(connection: ConnectionId, tokens: Tokens): Payloads {
    const names = namesOf(connection);
    const refresh = fitPayload(names.refresh, this.parts.sealer.seal(encodePayload(names.refresh, tokens.refresh), connection, names.refresh));
    return { refresh, access: encodePayload(names.access, tokens.access) };
  }

  /**
   * Writes the outbox entry (or the one held in memory) to the Secret Store unless the store already
   * holds its generation or a newer one, then removes it. An access token that has expired meanwhile
   * is not written (the store refuses a past expiry): the next call refreshes. Under the lock; with
   * `known` (read under it, and the lock confirmed still held) without reading the store again.
   */
  async flush(connection: ConnectionId, known?: KnownStore): Promise<FlushResult> {
    const entry = await this.entry(connection);
    if (!entry) return 'none';
    const key = connectionKey(connection);
    try {
      // A lock found lapsed is given up; one that cannot be confirmed (its database out of reach) is not trusted: the store is read instead.
      const held = known && (await known.stillHeld().catch((err: unknown) => {
        if (isStorageUnavailable(err)) return undefined;
        throw err;
      }));
      if (held === false) throw new LeaseLapsedError();
      const storedGeneration = held ? known!.storedGeneration : generationOf(await this.readRefresh(connection));
      if (storedGeneration !== undefined && storedGeneration > entry.generation) {
        await this.forget(connection, entry);
        this.parts.logger.info({ connection: key, generation: entry.generation }, 'outbox entry superseded by a newer stored generation');
        return 'superseded';
      }
      const { payloads, tokens } = this.openEntry(connection, entry);
      const secrets = this.parts.secrets.forConnection(connection);
      // A new idempotency key per flush (secret-store.ts keeps it across its own retries): a failure the store kept for one key never blocks the next flush.
      const attempt = randomUUID();
      // The same generation stored already: an earlier flush wrote the refresh secret, not (yet) the access secret.
      if (storedGeneration !== entry.generation) await secrets.write(namesOf(connection).refresh, payloads.refresh, tokens.refresh.expires_at, `${attempt}:refresh`);
      if (tokens.access.expires_at > this.parts.now()) await secrets.write(namesOf(connection).access, payloads.access, tokens.access.expires_at, `${attempt}:access`);
      await this.forget(connection, entry);
      await this.changed(connection);
      return 'stored';
    } catch (err) {
      if (err instanceof LeaseLapsedError) {
        this.parts.logger.warn({ connection: key, generation: entry.generation }, 'the lock lapsed before a Secret Store write; nothing was sent, and the tokens stay in the outbox');
        return 'pending';
      }
      if (isTransientStripeError(err)) {
        this.parts.logger.warn({ connection: key, generation: entry.generation, err: describeError(err) }, 'Secret Store write failed; the tokens stay in the outbox');
        return 'pending';
      }
      // A write the store refused (an access token that expired while the write was retried, say):
      // the tokens stay in the outbox too, and the next flush writes what is still valid.
      if (!(err instanceof Stripe.errors.StripeInvalidRequestError)) throw err;
      this.parts.logger.error({ connection: key, generation: entry.generation, err: describeError(err) }, 'the Secret Store refused a write; the tokens stay in the outbox');
      return 'pending';
    }
  }

  /**
   * The entry has reached the Secret Store: out of memory, and out of the outbox once the database
   * answers. A database out of reach leaves the row behind, harmless: a later flush finds the store
   * holding its generation and deletes it. The tokens are stored, so the caller is answered.
   */
  private async forget(connection: ConnectionId, entry: OutboxEntry): Promise<void> {
    const key = connectionKey(connection);
    if (this.memory.get(key)?.entry === entry) this.memory.delete(key);
    await this.parts.outbox.delete(connection, entry.generation).catch((err: unknown) => {
      if (!isStorageUnavailable(err)) throw err;
    });
  }

  /** Both secrets and any outbox entry go. Under the lock. */
  async remove(connection: ConnectionId): Promise<void> {
    try {
      this.memory.delete(connectionKey(connection));
      await this.parts.outbox.delete(connection, Number.MAX_SAFE_INTEGER);
      const secrets = this.parts.secrets.forConnection(connection);
      for (const name of Object.values(namesOf(connection))) await secrets.remove(name);
    } finally {
      await this.changed(connection);
    }
  }
}

/** The stored refresh secret already holds the entry's generation or a newer one. */
const generationOf = (stored: StoredRefresh | undefined) => (stored && stored !== UNUSABLE ? stored.generation : undefined);

const supersedes = (stored: StoredRefresh | undefined, entry: OutboxEntry) => (generationOf(stored) ?? -1) >= entry.generation;
