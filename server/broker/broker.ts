/**
 * The broker core, built from its parts: the token store over the Secret Store and the outbox,
 * the refresh engine, the connection lifecycle and the background loops. Nothing here knows
 * HTTP; server/http/ puts it behind routes.
 */
import type { Logger } from 'pino';
import type Stripe from 'stripe';
import type { StripeMode } from '../../src/shared/connection-id';
import type { Storage } from '../storage/ports';
import { AccessCache } from './access-cache';
import { type BackgroundOptions, startBackground } from './background';
import { DEFAULTS } from './defaults';
import { Lifecycle } from './lifecycle';
import { Metrics } from './metrics';
import type { OAuthClient } from './oauth-client';
import { DEFAULT_REFRESH_OPTIONS, RefreshEngine, type RefreshOptions } from './refresh-engine';
import { SecretStoreClients } from './secret-store';
import { TokenStore } from './token-store';
import type { TokenSealer } from './token-sealing';

export interface BrokerCoreOptions {
  storage: Storage;
  oauth: OAuthClient;
  /** The backend's `stripe` clients per mode (server/stripe-client.ts). */
  stripe: Partial<Record<StripeMode, Stripe>>;
  sealer: TokenSealer;
  logger: Logger;
  refresh?: Partial<RefreshOptions>;
  background?: Partial<Omit<BackgroundOptions, 'lock' | 'now'>>;
  /** Warm access tokens kept in memory (0 turns the cache off). */
  cacheEntries?: number;
}

export interface BrokerCore {
  storage: Storage;
  engine: RefreshEngine;
  lifecycle: Lifecycle;
  tokens: TokenStore;
  cache: AccessCache;
  metrics: Metrics;
  logger: Logger;
  /** Stops the background loops and closes the storage. */
  close(): Promise<void>;
}

export function createBrokerCore(options: BrokerCoreOptions): BrokerCore {
  const { storage, oauth, logger } = options;
  const refresh: RefreshOptions = { ...DEFAULT_REFRESH_OPTIONS, ...options.refresh };
  const metrics = new Metrics();
  const cache = new AccessCache(options.cacheEntries ?? DEFAULTS.cacheEntries);
  storage.notices.listen((key) => cache.invalidate(key));
  const tokens = new TokenStore({
    secrets: new SecretStoreClients(options.stripe, metrics),
    outbox: storage.outbox,
    notices: storage.notices,
    sealer: options.sealer,
    acceptUnsealed: !oauth.hasClientSecret,
    cache,
    logger,
  });
  const parts = { tokens, oauth, locks: storage.locks, records: storage.records, cache, metrics, logger };
  const engine = new RefreshEngine(parts, refresh);
  const lifecycle = new Lifecycle(parts, refresh);
  const background = startBackground({ ...parts, outbox: storage.outbox, keepAlive: storage.keepAlive, engine }, {
    flushIntervalMs: DEFAULTS.outboxFlushIntervalMs,
    keepAliveIdleSeconds: DEFAULTS.keepAliveIdleSeconds,
    keepAliveIntervalMs: DEFAULTS.keepAliveIntervalMs,
    ...options.background,
    lock: refresh.lock,
    now: refresh.now,
  });
  return {
    storage,
    engine,
    lifecycle,
    tokens,
    cache,
    metrics,
    logger,
    close: async () => {
      await background.stop();
      await storage.close();
    },
  };
}
