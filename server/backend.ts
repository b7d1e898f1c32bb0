/** Wires a listening broker backend from a loaded configuration (used by `npm run backend` and `npm start`). */
import { createServer } from 'node:http';
import path from 'node:path';
import pino from 'pino';
import type { Writable } from 'node:stream';
import type { ConnectionEvent } from '../src/common/connection-event';
import { type Broker, type BrokerOptions, createBroker } from './app';
import { fleetClock } from './broker/broker';
import { DEFAULTS, keepAliveIntervalMs, lockTimes } from './broker/defaults';
import { OAuthClient } from './broker/oauth-client';
import { TokenSealer } from './broker/token-sealing';
import type { BrokerClock } from './broker/clock';
import type { Provider } from './broker/providers';
import { Config, ConfigError, type ProviderConfig, providerPrefix } from './config';
import { closeServer } from './http/close-server';
import { listen } from './http/listen';
import { createLogger } from './logger';
import { claimDataDir } from './storage/instance-lock';
import { keepPrivate } from './storage/private-dir';
import type { Storage } from './storage/ports';
import { connectPostgresStorage } from './storage/postgres';
import { openSqliteStorage } from './storage/sqlite';
import { createStripeClient } from './stripe-client';

export interface RunningBackend {
  url: string;
  broker: Broker;
  stop(): Promise<void>;
}

export interface BackendExtras {
  /** Where log lines go instead of stdout (the local stack's readable lines). */
  logTo?: Writable;
  /** Also receives every log line (the offline console's history). */
  logTap?: Writable;
  /** The template's own Stripe event handlers (e.g. server/examples/customer-notes.ts). */
  stripeEventHandlers?: BrokerOptions['stripeEventHandlers'];
  /** The template's own in-process subscriber to connection events. */
  onEvent?: (event: ConnectionEvent) => void;
}

/** A configured provider, its OAuth client made (discovery at its issuer); one that fails is named by its variable. */
async function providerOf(p: ProviderConfig, clock: BrokerClock): Promise<Provider> {
  const api = { bases: p.api.bases, forwardHeaders: p.api.forwardHeaders, maxResponseBytes: p.api.maxResponseBytes, timeoutMs: p.api.timeoutSeconds * 1000 };
  if (p.apiKey) return { name: p.name, kind: 'api_key', api, apiKey: p.apiKey };
  const oauth = p.oauth!;
  try {
    return { name: p.name, kind: 'oauth', api, oauth: await OAuthClient.create(oauth, clock), defaultAccessLifetimeSeconds: p.defaultAccessLifetimeSeconds };
  } catch {
    const prefix = providerPrefix(p.name);
    throw new ConfigError(`${oauth.tokenEndpoint ? `${prefix}TOKEN_ENDPOINT: ${oauth.tokenEndpoint}` : `${prefix}ISSUER: discovery at ${oauth.issuer}`} failed`);
  }
}

export async function startBackend(config: Config, extras: BackendExtras = {}): Promise<RunningBackend> {
  const { logTo, logTap } = extras;
  const logger = createLogger(config.logLevel, logTap ? pino.multistream([{ stream: logTo ?? process.stdout }, { stream: logTap }]) : logTo);
  // The broker's database is the backend's alone: no other user on the machine reads it.
  const tightened = keepPrivate(config.dataDir);
  if (tightened.length > 0) logger.warn({ paths: tightened }, 'DATA_DIR was readable by other users; tightened to 0700/0600');
  let storage: Storage;
  let instance: { release(): void } | undefined;
  if (config.databaseUrl) {
    storage = await connectPostgresStorage(config.databaseUrl).catch(() => {
      throw new ConfigError('DATABASE_URL: cannot connect to PostgreSQL or apply the migrations');
    });
  } else {
    try {
      instance = claimDataDir(config.dataDir);
    } catch (err) {
      throw new ConfigError((err as Error).message);
    }
    storage = openSqliteStorage(path.join(config.dataDir, 'registry.sqlite'));
  }
  const clock = fleetClock(storage, logger);
  let providers: Provider[];
  try {
    providers = await Promise.all(config.providers.map((p) => providerOf(p, clock)));
  } catch (err) {
    await storage.close();
    instance?.release();
    throw err;
  }
  // Retries are the broker's own (secret-store.ts: paced by the budget, each write fenced by its lock).
  const clients = Object.fromEntries(
    Object.entries(config.secretKeys).map(([mode, key]) => [mode, createStripeClient(key, { apiBase: config.stripeApiBase, maxNetworkRetries: 0, bounded: true })]),
  );
  const broker = createBroker({
    appSigningSecret: config.appSigningSecret,
    signatureOrder: config.signatureOrder,
    webhookSecrets: config.webhookSecrets,
    applicationId: config.applicationId,
    appId: config.appId,
    allowLoopbackRedirects: config.localStack,
    loopbackHostsOnly: config.localStack,
    sealer: new TokenSealer(config.sealingKeys),
    providers,
    stripe: clients,
    metricsToken: config.metricsToken,
    adminToken: config.adminToken,
    events: { webhook: config.events, onEvent: extras.onEvent },
    cacheBytes: config.cacheBytes,
    secretStoreRequestsPerSecond: config.secretStoreRequestsPerSecond,
    storage,
    clock,
    logger,
    refresh: {
      marginSeconds: config.refreshMarginSeconds,
      providerRetry: { ...DEFAULTS.providerRetry, attempts: config.retryAttempts },
      // The lease outlasts the slowest provider's attempts (an API-key provider's calls are to its API).
      lock: lockTimes(Math.max(...config.providers.map((p) => p.oauth?.timeoutSeconds ?? p.api.timeoutSeconds)), config.retryAttempts, config.lockLeaseMarginSeconds),
      callerWaitMs: config.refreshWaitSeconds * 1000,
    },
    background: { keepAliveIdleSeconds: config.keepAliveSeconds, keepAliveIntervalMs: keepAliveIntervalMs(config.keepAliveSeconds) },
    maxProxyRequestBytes: Math.max(...config.providers.map((p) => p.api.maxRequestBytes)),
    connectionScope: config.connectionScope,
    limits: config.limits,
    stripeEventHandlers: extras.stripeEventHandlers,
  });
  // Connections sealed with a key this instance lacks answer 503 here (nothing is lost): said at start, not at their first call.
  const summary = await storage.records.summary().catch(() => undefined);
  const missing = summary ? broker.tokens.keysMissingHere(Object.keys(summary.bySealingKey)) : [];
  if (missing.length > 0) {
    logger.warn({ missingKeys: missing }, 'the registry has refresh secrets sealed with keys TOKEN_SEALING_KEYS lacks here: their connections answer 503 sealing_key_missing on this instance until the keys are added');
  }
  // Slow or stalled clients are cut off: headers within 10 s, the whole request within the limit.
  const timeoutMs = config.requestTimeoutSeconds * 1000;
  const server = createServer({ headersTimeout: Math.min(10_000, timeoutMs), requestTimeout: timeoutMs, connectionsCheckingInterval: 1000 }, broker.app);
  const port = await listen(server, config.port, config.host);
  return {
    url: `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`,
    broker,
    stop: async () => {
      await closeServer(server);
      await broker.close();
      instance?.release();
    },
  };
}
