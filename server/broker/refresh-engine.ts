/**
 * The only place that refreshes tokens. A fresh access token is returned as stored. A due one
 * is refreshed once per connection: in-process single-flight, then the connection's lock, then
 * a read of the refresh secret (another holder may have refreshed; the outbox may hold newer
 * tokens), then the provider — whose answer is kept, sealed, the moment its last byte is in,
 * before openid-client reads it — then the commit (outbox first, Secret Store second:
 * token-store.ts) — three Secret Store requests in all: that read and the two writes. An answer
 * a crash left kept but not taken is taken by the next lock holder, as its refresh would have.
 *
 * A refresh token leaves only while its lease is confirmed in the database, in the same step as
 * the intent mark: a holder that was paused past its lease finds the lock gone and sends nothing.
 * A refresh outlives its caller: the provider call has its own timeout, and a caller that stops
 * waiting gets 503 while the refresh completes and is stored — or the new tokens, once they are
 * committed to the outbox. When a refresh's answer never came or could not be read (the provider
 * may have rotated the token), the next `invalid_grant` is recorded as lost after an unknown
 * outcome — never silently. An answer whose ID token names another subject than the
 * connection's is never kept or served.
 */
import type { Logger } from 'pino';
import { unixNow } from '../../src/common/clock';
import { type ConnectionId, connectionKey } from '../../src/common/connection-id';
import { type AccessPayload, dueAt, isDue, type RefreshPayload, TokenTooLargeError, tokenPayloads } from '../../src/common/token-layout';
import { isStorageUnavailable } from '../storage/errors';
import type { Lease, LockManager } from '../storage/locks';
import type { ConnectionRecord, ConnectionRecords, ConnectionState, LossReason, OnceOnly } from '../storage/ports';
import { type AccessCache, NOT_CONNECTED_SECONDS } from './access-cache';
import { type LockTimes, withLock } from './connection-lock';
import type { ConnectionStates } from './connection-state';
import { DEFAULTS, lockTimes } from './defaults';
import { BrokerError, busy, describeError, notConnected, providerRejected, providerUnavailable, reconnectRequired, refreshPending } from './errors';
import type { Metrics } from './metrics';
import type { SecretStoreBudget } from './secret-store-budget';
import { classifyOAuthError, describeOAuthError, type GrantAnswer, UnreadableAnswer, unverifiedAnswer } from './oauth-client';
import type { ApiKeys } from './api-keys';
import type { Providers } from './providers';
import { type RetryPolicy, withRetries } from './retry';
import { type Current, type KeptAnswer, type KnownStore, type StoredRefresh, type TokenStore, UNUSABLE } from './token-store';

export interface RefreshOptions {
  marginSeconds: number;
  /** The unnamed provider's (a named one has its own: providers.ts). */
  defaultAccessLifetimeSeconds: number;
  providerRetry: RetryPolicy;
  /** The connection lock: its lease must outlast the provider timeout × attempts. */
  lock: LockTimes;
  /** How long a caller of `accessToken` waits for a refresh before a 503 (the refresh goes on). */
  callerWaitMs: number;
  /** Unix seconds by the fleet's clock (clock.ts). */
  now: () => number;
}

export const DEFAULT_REFRESH_OPTIONS: RefreshOptions = {
  marginSeconds: DEFAULTS.refreshMarginSeconds,
  defaultAccessLifetimeSeconds: DEFAULTS.defaultAccessLifetimeSeconds,
  providerRetry: DEFAULTS.providerRetry,
  lock: lockTimes(DEFAULTS.providerTimeoutSeconds),
  callerWaitMs: DEFAULTS.refreshWaitSeconds * 1000,
  now: unixNow,
};

/** What the refresh engine and the connection lifecycle work with. */
export interface BrokerParts {
  tokens: TokenStore;
  providers: Providers;
  /** API-key providers' keys (the engine refreshes none of them). */
  apiKeys: ApiKeys;
  locks: LockManager;
  records: ConnectionRecords;
  states: ConnectionStates;
  onceOnly: OnceOnly;
  cache: AccessCache;
  budget: SecretStoreBudget;
  metrics: Metrics;
  logger: Logger;
}

/** One refresh under way: `done` when it ends; `committed` (and `kept` settles) once its new tokens are in the outbox. */
interface Flight {
  done: Promise<AccessPayload>;
  committed?: AccessPayload;
  kept: Promise<void>;
}

/** Held by the work of a flight: its lease, and how it says its new tokens are committed. */
interface Holding {
  lease: Lease;
  ready(access: AccessPayload): void;
}

/** When a refresh's request left and its answer's last byte came (by `performance.now()`), and how long the answer took to be kept. */
interface Arrival {
  sent?: number;
  at?: number;
  keptMs?: number;
}

/** An answer being taken: the refresh payload it answers, when it came (unix seconds), and what the holder knows. */
interface Taking {
  refresh: RefreshPayload;
  at: number;
  earlier: ConnectionRecord | undefined;
  holding: Holding;
  storedGeneration: number | undefined;
  log: (outcome: string, extra?: object) => void;
  /** Absent for an answer a crash left kept, taken after a restart. */
  arrival?: Arrival;
}

/** A due token served while the Secret Store budget is spent must have this long left. */
const STILL_VALID_SECONDS = 30;

/** The lease lapsed (or was taken) before the refresh token left: nothing was sent. */
class LeaseLost extends Error {}

export class RefreshEngine {
  private readonly inFlight = new Map<string, Flight>();
  private readonly tokens: TokenStore;
  private readonly providers: Providers;
  private readonly records: ConnectionRecords;
  private readonly states: ConnectionStates;
  private readonly cache: AccessCache;
  private readonly metrics: Metrics;
  private readonly logger: Logger;

  constructor(
    private readonly parts: BrokerParts,
    private readonly options: RefreshOptions,
  ) {
    ({ tokens: this.tokens, providers: this.providers, records: this.records, states: this.states, cache: this.cache, metrics: this.metrics, logger: this.logger } = parts);
  }

  private fresh(access: Pick<AccessPayload, 'issued_at' | 'expires_at'>, jitter = 0): boolean {
    return !isDue(access, this.options.now(), this.options.marginSeconds, jitter);
  }

  /**
   * A usable access token, refreshed first when it is within the refresh margin. Its expiry is
   * checked once more as it is handed over: a stall on the way (a frozen database, a paused
   * process) can outlast a token chosen before it, and an expired one is never served. The clock
   * counts whole seconds, so a token is handed over only with a whole second left: one with less
   * could expire on its way to the caller.
   */
  async accessToken(connection: ConnectionId): Promise<AccessPayload> {
    // An API key is never handed out: it is used only through the API (provider-api.ts).
    this.providers.oauth(connection);
    for (let attempt = 0; attempt < 2; attempt++) {
      const access = await this.usableToken(connection);
      if (access.expires_at > this.options.now() + 1) return access;
    }
    throw refreshPending();
  }

  private async usableToken(connection: ConnectionId): Promise<AccessPayload> {
    const key = connectionKey(connection);
    const cached = this.cache.get(key, this.options.now());
    (cached === undefined ? this.metrics.cacheMisses : this.metrics.cacheHits).inc();
    if (cached === null) throw notConnected();
    if (cached) return cached;
    const ticket = this.cache.ticket(key);
    // A token cached until it came due needs no read to show that it is due; nor does one the
    // registry records as due (the read under the lock shows whether another holder refreshed).
    let known = this.cache.lastKnown(key);
    if (!known && !(await this.recordedDue(connection))) {
      const access = await this.parts.budget.run('serve', () => this.tokens.readAccess(connection));
      const jitter = Math.random();
      if (access && this.fresh(access, jitter)) {
        this.remember(key, access, ticket, jitter);
        return access;
      }
      known = access;
    }
    const flight = this.refreshOnce(connection, (holding) => this.refreshIfDue(connection, holding, { known }));
    // While the Secret Store budget is spent, a due token that is still valid is served now; its refresh waits its turn.
    if (known && known.expires_at - this.options.now() >= STILL_VALID_SECONDS && this.parts.budget.isBusy(connection.mode)) {
      flight.done.catch(() => undefined);
      return known;
    }
    try {
      return await this.waitFor(flight);
    } catch (err) {
      // Nobody connected: answered from memory for a few seconds (any change of the connection ends it).
      if (err instanceof BrokerError && err.code === 'not_connected') this.cache.set(key, null, this.options.now() + NOT_CONNECTED_SECONDS, ticket);
      throw err;
    }
  }

  /**
   * The provider refused `rejected` (its API answered 401): a refresh now, unless one has replaced
   * that token meanwhile — through the same single-flight and lock as any other.
   */
  async refreshRejected(connection: ConnectionId, rejected: string): Promise<AccessPayload> {
    this.cache.invalidate(connectionKey(connection));
    return this.waitFor(this.refreshOnce(connection, (holding) => this.refreshIfDue(connection, holding, { rejected })));
  }

  /** The registry says the connection's access token is due (a database read, not a Secret Store one; without the database, unknown). */
  private async recordedDue(connection: ConnectionId): Promise<boolean> {
    const record = await this.records.get(connection).catch((err: unknown) => {
      if (isStorageUnavailable(err)) return undefined;
      throw err;
    });
    if (record?.status !== 'connected' || record.accessExpiresAt === null || record.lastRefreshAt === null) return false;
    return !this.fresh({ issued_at: record.lastRefreshAt, expires_at: record.accessExpiresAt });
  }

  /** Served from memory until its (jittered) refresh margin begins, then read (and refreshed) again. */
  private remember(key: string, access: AccessPayload, ticket: string, jitter = 0): void {
    this.cache.set(key, access, dueAt(access, this.options.marginSeconds, jitter), ticket);
  }

  /**
   * Shutdown: waits up to `ms` for refreshes under way, so an answer already on its way from the
   * provider reaches the outbox; what is still waiting after that sent nothing, or left its intent.
   * One whose tokens are in the outbox is not waited for: the next start writes them.
   */
  async settle(ms: number): Promise<void> {
    const flights = [...this.inFlight.values()].map((flight) => Promise.race([flight.done.catch(() => undefined), flight.kept]));
    await Promise.race([Promise.all(flights), new Promise((resolve) => setTimeout(resolve, ms).unref())]);
  }

  /** An operator's refresh (`connections refresh`): now, whatever the token's age. */
  async refreshNow(connection: ConnectionId): Promise<void> {
    this.cache.invalidate(connectionKey(connection));
    await this.keepAlive(connection, () => true);
  }

  /** Keep-alive: refreshes a connection that is idle or whose refresh token nears expiry, unless someone just did. */
  async keepAlive(connection: ConnectionId, stillDue: (lastRefreshAt: number | null, refreshExpiresAt: number | null) => boolean): Promise<void> {
    await this.parts.budget.run('keepalive', () => this.refreshOnce(connection, async (holding) => {
      const current = await this.current(connection, holding);
      const { refresh } = current;
      if (!refresh || refresh === UNUSABLE || refresh.refresh_token === null || !stillDue(refresh.refreshed_at, refresh.expires_at)) {
        return current.access ?? this.refreshIfDue(connection, holding, {});
      }
      return this.refresh(connection, refresh, holding, true, current.held ? undefined : current.storedGeneration);
    }).done);
  }

  /**
   * The outbox flusher: an answer a crash left kept is taken under the lock (`lock`: a short wait,
   * since a busy connection's holder takes it itself).
   */
  async recover(connection: ConnectionId, lock: LockTimes): Promise<void> {
    await withLock(this.parts.locks, connection, lock, (lease) => this.current(connection, { lease, ready: () => undefined }));
  }

  /**
   * Under the lock: what the store holds (token-store.ts `current`), once an answer a crash left
   * kept is taken and a token set held in the outbox is written. A refresh secret older than one
   * already seen is never sent (`olderThanSeen`): it is read again once, and else the caller gets
   * 503 `refresh_pending`.
   */
  private async current(connection: ConnectionId, holding: Holding, known?: AccessPayload): Promise<Current> {
    for (let read = 1; ; read++) {
      let current = await this.tokens.current(connection);
      if (current.kept) {
        await this.takeKept(connection, current.kept, holding, current.storedGeneration);
        current = await this.tokens.current(connection);
      }
      if (current.held) await this.tokens.flush(connection);
      if (!(await this.olderThanSeen(connection, current.refresh, known))) return current;
      if (read === 2) {
        this.logger.error({ connection: connectionKey(connection), generation: (current.refresh as RefreshPayload).generation }, 'the Secret Store shows an older refresh token than one already seen; it was not sent');
        throw refreshPending();
      }
    }
  }

  /**
   * A refresh secret older than one already seen — the access token `known`, or the registry's last
   * commit: a stale read, or a late write put back, that would spend a token the provider has
   * rotated. A new grant (the extension's own sign-in) starts its count again but is newer, so it is not.
   */
  private async olderThanSeen(connection: ConnectionId, refresh: StoredRefresh | undefined, known: AccessPayload | undefined): Promise<boolean> {
    if (!refresh || refresh === UNUSABLE) return false;
    const record = await this.records.get(connection).catch((err: unknown) => {
      if (isStorageUnavailable(err)) return undefined;
      throw err;
    });
    const seen = [known && { generation: known.generation, at: known.issued_at }, record?.generation && record.lastRefreshAt !== null && { generation: record.generation, at: record.lastRefreshAt }];
    return seen.some((newer) => newer && refresh.generation < newer.generation && refresh.refreshed_at <= newer.at);
  }

  /** In-process single-flight, then the connection's lock. */
  private refreshOnce(connection: ConnectionId, work: (holding: Holding) => Promise<AccessPayload>): Flight {
    const key = connectionKey(connection);
    let flight = this.inFlight.get(key);
    if (!flight) {
      const waiting = Date.now();
      let kept = () => {};
      const started: Flight = {
        kept: new Promise<void>((resolve) => (kept = resolve)),
        done: withLock(this.parts.locks, connection, this.options.lock, (lease) => {
          this.metrics.lockWaitSeconds.observe((Date.now() - waiting) / 1000);
          return work({
            lease,
            ready: (access) => {
              started.committed = access;
              kept();
            },
          });
        }).finally(() => this.inFlight.delete(key)),
      };
      flight = started;
      this.inFlight.set(key, flight);
    }
    return flight;
  }

  /** The refresh's answer, or after `callerWaitMs` its committed tokens if it has some, else 503 `refresh_pending`. */
  private async waitFor(flight: Flight): Promise<AccessPayload> {
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<AccessPayload>((resolve, reject) => {
      timer = setTimeout(() => (flight.committed ? resolve(flight.committed) : reject(refreshPending())), this.options.callerWaitMs);
    });
    try {
      return await Promise.race([flight.done, gaveUp]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Under the lock: refreshes unless the access token is fresh (and is not `rejected`, the one the
   * provider just refused). One Secret Store read — the refresh secret — when the access token
   * is `known` or the refresh payload shows it is due; a second only when another holder refreshed.
   */
  private async refreshIfDue(connection: ConnectionId, holding: Holding, { known, rejected }: { known?: AccessPayload; rejected?: string }): Promise<AccessPayload> {
    const current = await this.current(connection, holding, known);
    const { refresh } = current;
    const refreshable = refresh && refresh !== UNUSABLE && refresh.refresh_token !== null ? refresh : undefined;
    const access = current.held ? current.access : refreshable ? await this.accessOf(connection, refreshable, known) : await this.tokens.readAccess(connection);
    const usable = access && access.access_token !== rejected ? access : undefined;
    if (usable && this.fresh(usable)) return usable;
    // Altered or another's: lost. One sealed with a key this instance lacks never gets here: reading it was 503 `sealing_key_missing`.
    if (refresh === UNUSABLE) return this.lose(connection, 'unusable_refresh_secret');
    if (!refresh) {
      const record = await this.records.get(connection);
      if (!record) throw notConnected();
      // A connection already lost keeps the reason it was lost for.
      if (record.status === 'reconnect_required') throw reconnectRequired();
      return this.lose(connection, 'secrets_missing');
    }
    if (refresh.refresh_token === null) {
      // No refresh tokens from this provider: the access token serves until it really expires (or is refused).
      if (usable && usable.expires_at > this.options.now()) return usable;
      return this.lose(connection, 'no_refresh_token');
    }
    return this.refresh(connection, refresh, holding, true, current.held ? undefined : current.storedGeneration);
  }

  /**
   * The stored generation's access payload without reading it where that is safe: the one known
   * already, or none when the refresh payload shows the generation's access token is due (it
   * was issued at `refreshed_at` for `access_lifetime`). Read only when another holder refreshed.
   */
  private async accessOf(connection: ConnectionId, refresh: RefreshPayload, known: AccessPayload | undefined): Promise<AccessPayload | undefined> {
    if (known?.generation === refresh.generation) return known;
    if (!this.fresh({ issued_at: refresh.refreshed_at, expires_at: refresh.refreshed_at + refresh.access_lifetime })) return undefined;
    return this.tokens.readAccess(connection);
  }

  /** The store's generation as read under this lock, trusted by the commit's flush once the lease is confirmed. */
  private knownStore(storedGeneration: number | undefined, holding: Holding): KnownStore | undefined {
    return storedGeneration === undefined ? undefined : { storedGeneration, stillHeld: () => holding.lease.renew(this.options.lock.leaseMs) };
  }

  /**
   * The provider call, each attempt sent only once the lease is confirmed and the intent recorded.
   * Its 200 answer is kept, sealed, as soon as its last byte is in — before openid-client parses
   * and checks it — so a crash from then on loses nothing (`arrival` says when, and how long it took).
   */
  private async send(connection: ConnectionId, refresh: RefreshPayload, lease: Lease, arrival: Arrival): Promise<GrantAnswer> {
    const keep = async (raw: string) => {
      arrival.at = performance.now();
      if (await this.tokens.keep(connection, { raw, previous: refresh, at: this.options.now() })) arrival.keptMs = performance.now() - arrival.at;
    };
    return withRetries(
      this.options.providerRetry,
      async () => {
        if (!(await this.records.markIntent(connection, this.options.now(), lease, this.options.lock.leaseMs))) throw new LeaseLost();
        arrival.sent = performance.now();
        return this.metrics.providerCall('refresh_token', () => this.providers.oauth(connection).oauth.refresh(refresh.refresh_token!, keep));
      },
      (err) => !(err instanceof LeaseLost) && classifyOAuthError(err) === 'retryable',
    );
  }

  /** Logs a refresh of `generation`'s token (and counts it) with its outcome. */
  private refreshLog(connection: ConnectionId, generation: number): Taking['log'] {
    const started = Date.now();
    return (outcome, extra = {}) => {
      this.metrics.refreshes.inc({ outcome });
      this.metrics.refreshSeconds.observe((Date.now() - started) / 1000);
      this.logger.info({ connection: connectionKey(connection), outcome, latencyMs: Date.now() - started, generation, ...extra }, 'refresh');
    };
  }

  private async refresh(connection: ConnectionId, refresh: RefreshPayload, holding: Holding, mayRecheck: boolean, storedGeneration?: number): Promise<AccessPayload> {
    const log = this.refreshLog(connection, refresh.generation);
    const earlier = await this.records.get(connection);
    const arrival: Arrival = {};
    let answer: GrantAnswer;
    try {
      answer = await this.send(connection, refresh, holding.lease, arrival);
    } catch (err) {
      if (err instanceof LeaseLost) {
        log('lease_lost');
        throw busy();
      }
      if (isStorageUnavailable(err)) throw err;
      const failure = classifyOAuthError(err);
      log(failure, { error: describeOAuthError(err) });
      if (failure === 'invalid_grant') {
        // A rotation by someone else looks the same at the provider; only an unchanged stored token means lost.
        const now = await this.current(connection, holding);
        const current = now.refresh;
        if (mayRecheck && current && current !== UNUSABLE && current.refresh_token && current.refresh_token !== refresh.refresh_token) {
          // The provider answered, so this attempt's outcome is known: its intent mark goes before the next.
          await this.states.update(connection, { outcomeUnknownAt: earlier?.outcomeUnknownAt ?? null });
          // Refreshed with the newer token, not served from it: a reuse may have revoked the grant, and only the provider can tell.
          return this.refresh(connection, current, holding, false, now.held ? undefined : now.storedGeneration);
        }
        return this.lose(connection, earlier?.outcomeUnknownAt ? 'lost_after_unknown_outcome' : 'invalid_grant');
      }
      // An unreadable answer was kept before it was read: there is nothing in it to take.
      if (err instanceof UnreadableAnswer) await this.tokens.dropAnswer(connection, refresh.generation + 1);
      // The provider answered, so it did not rotate; only a lost or unreadable answer leaves the outcome unknown.
      const outcomeUnknownAt = failure === 'unknown_outcome' ? (earlier?.outcomeUnknownAt ?? this.options.now()) : (earlier?.outcomeUnknownAt ?? null);
      if (failure === 'rejected') {
        await this.states.update(connection, { outcomeUnknownAt });
        throw providerRejected();
      }
      // Connected but degraded.
      await this.states.update(connection, { failures: (earlier?.failures ?? 0) + 1, outcomeUnknownAt });
      throw providerUnavailable();
    }
    return this.take(connection, answer, { refresh, at: this.options.now(), earlier, holding, storedGeneration, log, arrival });
  }

  /**
   * An answer kept before a crash let it be read: read now — without openid-client's checks, which
   * only ever report (the ID token's subject is still compared) — and taken as its refresh would
   * have. One with no tokens in it goes, and its refresh's outcome stays unknown (the intent mark stays).
   */
  private async takeKept(connection: ConnectionId, kept: KeptAnswer, holding: Holding, storedGeneration: number | undefined): Promise<void> {
    const log = this.refreshLog(connection, kept.previous.generation);
    const answer = unverifiedAnswer(kept.raw);
    if (answer) {
      await this.take(connection, answer, { refresh: kept.previous, at: kept.at, earlier: await this.records.get(connection), holding, storedGeneration, log });
      return;
    }
    log('unknown_outcome', { error: 'unreadable answer: kept before a restart' });
    await this.tokens.dropAnswer(connection, kept.previous.generation + 1);
  }

  /**
   * The provider's answer to a refresh: committed (outbox first, Secret Store second), recorded and
   * remembered — unless its ID token names another subject than the connection's.
   */
  private async take(connection: ConnectionId, answer: GrantAnswer, { refresh, at, earlier, holding, storedGeneration, log, arrival }: Taking): Promise<AccessPayload> {
    const key = connectionKey(connection);
    // Another person's tokens (answers crossed on the way, a confused provider) are never stored or
    // served as this connection's: a refreshed ID token's `sub` must be the original's (OIDC Core 12.2).
    if (answer.subject && earlier?.subject && answer.subject !== earlier.subject) {
      log('subject_changed');
      this.logger.error({ connection: key, generation: refresh.generation }, "the provider answered a refresh with another subject's tokens; they were not kept");
      return this.lose(connection, 'subject_changed');
    }
    let tokens;
    try {
      tokens = tokenPayloads(answer.tokens, refresh, at, this.providers.oauth(connection).defaultAccessLifetimeSeconds);
      let committedMs: number | undefined;
      const stored = await this.tokens.commit(connection, tokens, () => {
        holding.ready(tokens!.access);
        if (arrival?.at !== undefined) committedMs = performance.now() - arrival.at;
      }, this.knownStore(storedGeneration, holding));
      // The crash window, for the logs: the request at the provider (sent to the answer's last
      // byte), then the answer until it was kept; and until it was committed, for comparison.
      const window = arrival ? { providerMs: arrival.at! - arrival.sent!, keptMs: arrival.keptMs, committedMs } : { recovered: true };
      log('refreshed', { stored, rotated: Boolean(answer.tokens.refresh_token && answer.tokens.refresh_token !== refresh.refresh_token), ...(answer.problem && { problem: answer.problem }), ...window });
    } catch (err) {
      if (err instanceof TokenTooLargeError) {
        log('token_too_large');
        // Nothing was committed, and a kept answer would only fail the same way again.
        await this.tokens.dropAnswer(connection, refresh.generation + 1);
      }
      throw err;
    }
    if (answer.problem) this.logger.warn({ connection: key, problem: answer.problem, generation: tokens.refresh.generation }, 'the provider answered with tokens that failed a check; kept them');
    const ticket = this.cache.ticket(key);
    await this.recordRefresh(connection, {
      status: 'connected',
      accessExpiresAt: tokens.access.expires_at,
      refreshExpiresAt: tokens.refresh.expires_at,
      lastRefreshAt: at,
      // An answer that failed a check is kept, and the connection shows it as degraded.
      failures: answer.problem ? (earlier?.failures ?? 0) + 1 : 0,
      outcomeUnknownAt: null,
      reason: null,
      sealedWith: this.tokens.sealingKeyId,
      subject: earlier?.subject ?? answer.subject ?? null,
      generation: tokens.refresh.generation,
    });
    this.remember(key, tokens.access, ticket);
    return tokens.access;
  }

  /** The tokens are stored; their record follows, and a database that fails now costs no token. */
  private async recordRefresh(connection: ConnectionId, state: Partial<ConnectionState>): Promise<void> {
    try {
      await this.states.update(connection, state);
    } catch (err) {
      if (!isStorageUnavailable(err)) throw err;
      this.logger.warn({ connection: connectionKey(connection), err: describeError(err) }, 'refreshed, but the connection record was not updated');
    }
  }

  /** The provider will not refresh this grant again: its secrets go, the state and the reason stay for status. */
  private async lose(connection: ConnectionId, reason: LossReason): Promise<never> {
    if (reason === 'lost_after_unknown_outcome') this.metrics.refreshes.inc({ outcome: reason });
    const level = reason === 'lost_after_unknown_outcome' ? 'error' : 'info';
    this.logger[level]({ connection: connectionKey(connection), outcome: 'reconnect_required', reason }, 'connection lost');
    await this.tokens.remove(connection);
    await this.states.update(connection, { status: 'reconnect_required', accessExpiresAt: null, refreshExpiresAt: null, reason });
    throw reconnectRequired();
  }
}
