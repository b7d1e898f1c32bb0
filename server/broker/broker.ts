/**
 * The broker core, built from its parts: the token store over the Secret Store and the outbox,
 * the refresh engine, the connection lifecycle and the background loops. Nothing here knows
 * HTTP; server/http/ puts it behind routes.
 */
import type { Logger } from 'pino';
import type Stripe from 'stripe';
import type { StripeMode } from '../../src/common/connection-id';
import type { Storage } from '../storage/ports';
import { AccessCache } from './access-cache';
import { type BackgroundOptions, startBackground } from './background';
import type { ConnectionEvent } from '../../src/common/connection-event';
import { BrokerClock } from './clock';
import { ConnectionStates } from './connection-state';
import type { EventWebhook } from './event-delivery';
import { DEFAULTS } from './defaults';
import { Lifecycle } from './lifecycle';
import { Metrics } from './metrics';
import { ProviderApi, type ProviderApiOptions } from './provider-api';
import { ApiKeys } from './api-keys';
import type { OAuthClient } from './oauth-client';
import { type Provider, Providers } from './providers';
import { DEFAULT_REFRESH_OPTIONS, RefreshEngine, type RefreshOptions } from './refresh-engine';
import { SecretStoreClients } from './secret-store';
import { SecretStoreBudget } from './secret-store-budget';
import { TokenStore } from './token-store';
import type { TokenSealer } from './token-sealing';

export interface BrokerCoreOptions {
  storage: Storage;
  /** The one unnamed provider (the plain OAUTH_* settings, with `api` and `refresh.defaultAccessLifetimeSeconds`)… */
  oauth?: OAuthClient;
  /** …or the named ones (OAUTH_PROVIDERS). */
  providers?: Provider[];
  /** The backend's `stripe` clients per mode (server/stripe-client.ts). */
  stripe: Partial<Record<StripeMode, Stripe>>;
  sealer: TokenSealer;
  logger: Logger;
  /** The fleet's clock; by default the database's (PostgreSQL), else the provider's. */
  clock?: BrokerClock;
  refresh?: Partial<RefreshOptions>;
  background?: Partial<Omit<BackgroundOptions, 'lock' | 'now'>>;
  /** Bytes of warm access tokens kept in memory (0 turns the cache off). */
  cacheBytes?: number;
  /** The unnamed provider's API (none: no proxy). */
  api?: Partial<ProviderApiOptions>;
  /** SECRET_STORE_REQUESTS_PER_SECOND, per mode. */
  secretStoreRequestsPerSecond?: Partial<Record<StripeMode, number>>;
  /** Connection events: delivered to a webhook (`webhook`), and heard in this process (`onEvent`). */
  events?: { webhook?: EventWebhook; onEvent?: (event: ConnectionEvent) => void };
  /** How long `close` gives refreshes under way (DEFAULTS.shutdownSettleMs); a test's backend that crashes takes none. */
  shutdownSettleMs?: number;
}

export interface BrokerCore {
  storage: Storage;
  clock: BrokerClock;
  engine: RefreshEngine;
  lifecycle: Lifecycle;
  /** The providers this broker serves. */
  providers: Providers;
  /** A provider's API as a connection: for `/api/proxy`, and for the template's own server code. */
  api: ProviderApi;
  tokens: TokenStore;
  cache: AccessCache;
  /** The Secret Store's request budget. */
  budget: SecretStoreBudget;
  metrics: Metrics;
  logger: Logger;
  /** Whether events are delivered (EVENTS_WEBHOOK_URL), and a nudge to deliver now (after a redelivery). */
  deliveries: { enabled: boolean; wake(): void };
  /** Stops the background loops and closes the storage. */
  close(): Promise<void>;
}

/** The database's clock when the fleet shares one (PostgreSQL), else the provider's. */
export const fleetClock = (storage: Storage, logger: Logger) =>
  new BrokerClock(logger, storage.databaseTime ? 'database' : 'provider', storage.databaseTime);

export function createBrokerCore(options: BrokerCoreOptions): BrokerCore {
  const { storage, logger } = options;
  const clock = options.clock ?? fleetClock(storage, logger);
  const measuring = clock.start();
  const refresh: RefreshOptions = { ...DEFAULT_REFRESH_OPTIONS, now: clock.now, ...options.refresh };
  const metrics = new Metrics();
  const providers = new Providers(options.providers ?? [{
    kind: 'oauth',
    oauth: options.oauth!,
    defaultAccessLifetimeSeconds: refresh.defaultAccessLifetimeSeconds,
    api: { bases: [], forwardHeaders: [], maxResponseBytes: DEFAULTS.api.maxResponseBytes, timeoutMs: DEFAULTS.api.timeoutSeconds * 1000, ...options.api },
  }]);
  const cache = new AccessCache(options.cacheBytes ?? DEFAULTS.cacheBytes);
  const budget = new SecretStoreBudget(storage.budget, { ...DEFAULTS.secretStoreRequestsPerSecond, ...options.secretStoreRequestsPerSecond }, refresh.callerWaitMs);
  storage.notices.listen((key) => cache.invalidate(key), (live) => cache.setLive(live));
  const secrets = new SecretStoreClients(options.stripe, metrics, budget);
  const tokens = new TokenStore({
    secrets,
    outbox: storage.outbox,
    notices: storage.notices,
    sealer: options.sealer,
    metrics,
    acceptUnsealed: (connection) => {
      const provider = providers.of(connection);
      return provider.kind === 'oauth' && !provider.oauth.hasClientSecret;
    },
    cache,
    logger,
    now: refresh.now,
  });
  const webhook = options.events?.webhook;
  const states = new ConnectionStates(storage.records, metrics, {
    recordEvents: Boolean(webhook),
    onEvent: options.events?.onEvent,
    onRecorded: () => background.eventRecorded(),
    keepAlive: { idleSeconds: options.background?.keepAliveIdleSeconds ?? DEFAULTS.keepAliveIdleSeconds },
    now: refresh.now,
    logger,
  });
  const apiKeys = new ApiKeys({ secrets, sealer: options.sealer, records: storage.records, states, tokens, cache, locks: storage.locks, logger, now: refresh.now, lock: refresh.lock });
  const parts = { tokens, providers, apiKeys, locks: storage.locks, records: storage.records, states, onceOnly: storage.onceOnly, cache, budget, metrics, logger };
  const engine = new RefreshEngine(parts, refresh);
  const lifecycle = new Lifecycle(parts, refresh);
  const api = new ProviderApi(engine, { providers, apiKeys, metrics, logger, now: refresh.now });
  const events = webhook && { webhook, events: storage.events, metrics, logger, now: refresh.now, signingTime: clock.now };
  const background = startBackground({ ...parts, outbox: storage.outbox, keepAlive: storage.keepAlive, engine, events }, {
    flushIntervalMs: DEFAULTS.outboxFlushIntervalMs,
    keepAliveIdleSeconds: DEFAULTS.keepAliveIdleSeconds,
    keepAliveIntervalMs: DEFAULTS.keepAliveIntervalMs,
    ...options.background,
    lock: refresh.lock,
    now: refresh.now,
  });
  return {
    storage,
    clock,
    engine,
    lifecycle,
    providers,
    api,
    tokens,
    cache,
    budget,
    metrics,
    logger,
    deliveries: { enabled: Boolean(webhook), wake: () => background.eventRecorded() },
    // Bounded: refreshes under way get a few seconds to commit their answers, the loops stop after
    // their current step, and whatever waits (the outbox, undelivered events) is durable for the next start.
    close: async () => {
      measuring.stop();
      budget.close();
      await engine.settle(options.shutdownSettleMs ?? DEFAULTS.shutdownSettleMs);
      await background.stop();
      await storage.close();
    },
  };
}
