/** Wires a listening broker backend from a loaded configuration (used by `npm run backend` and `npm start`). */
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import pino from 'pino';
import type { Writable } from 'node:stream';
import { type Broker, createBroker } from './app';
import { Config, ConfigError } from './config';
import { createLogger } from './logger';
import { OAuthClient } from './broker/oauth-client';
import { claimDataDir } from './storage/instance-lock';
import type { LockManager } from './storage/locks';
import { PostgresRegistry } from './storage/postgres';
import type { ConnectionRegistry } from './storage/ports';
import { SqliteRegistry } from './storage/sqlite';
import { TokenSealer } from './broker/token-sealing';
import { createStripeClient } from './stripe-client';

export interface RunningBackend {
  url: string;
  broker: Broker;
  stop(): Promise<void>;
}

/** `logTap` also receives every log line (the offline console's refresh history). */
export async function startBackend(config: Config, logTap?: Writable): Promise<RunningBackend> {
  const logger = createLogger(config.logLevel, logTap && pino.multistream([{ stream: process.stdout }, { stream: logTap }]));
  let oauth: OAuthClient;
  try {
    oauth = await OAuthClient.create(config.provider);
  } catch {
    const where = config.provider.tokenEndpoint ? `OAUTH_TOKEN_ENDPOINT: ${config.provider.tokenEndpoint}` : `OAUTH_ISSUER: discovery at ${config.provider.issuer}`;
    throw new ConfigError(`${where} failed`);
  }
  // The registry's database is the backend's alone: no other user on the machine reads it.
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  let registry: ConnectionRegistry;
  let locks: LockManager | undefined;
  let instance: { release(): void } | undefined;
  if (config.databaseUrl) {
    const postgres = await PostgresRegistry.connect(config.databaseUrl).catch(() => {
      throw new ConfigError('DATABASE_URL: cannot connect to PostgreSQL or apply the migrations');
    });
    registry = postgres;
    locks = postgres;
  } else {
    try {
      instance = claimDataDir(config.dataDir);
    } catch (err) {
      throw new ConfigError((err as Error).message);
    }
    registry = new SqliteRegistry(path.join(config.dataDir, 'registry.sqlite'));
  }
  // stripe-node retries 5xx, 409 and network errors itself, with one idempotency key per write.
  const clients = Object.fromEntries(
    Object.entries(config.secretKeys).map(([mode, key]) => [mode, createStripeClient(key, { apiBase: config.stripeApiBase, maxNetworkRetries: 2 })]),
  );
  const providerAttempts = 3;
  const broker = createBroker({
    appSigningSecret: config.appSigningSecret,
    webhookSecret: config.webhookSecret,
    appId: config.appId,
    allowLoopbackRedirects: config.allowLoopbackRedirects,
    sealer: new TokenSealer(config.sealingKeys),
    oauth,
    stripe: clients,
    metricsToken: config.metricsToken,
    cacheEntries: config.cacheEntries,
    registry,
    locks,
    logger,
    refresh: {
      marginSeconds: config.refreshMarginSeconds,
      defaultAccessLifetimeSeconds: config.defaultAccessLifetimeSeconds,
      providerRetry: { attempts: providerAttempts, baseDelayMs: 300 },
      // The lease outlasts every attempt at the provider (and is renewed while the refresh runs).
      lock: { leaseMs: (config.provider.timeoutSeconds * providerAttempts + 2) * 1000, waitMs: (config.provider.timeoutSeconds * providerAttempts + 5) * 1000 },
      callerWaitMs: config.refreshWaitSeconds * 1000,
    },
    background: { keepAliveIdleSeconds: config.keepAliveSeconds },
  });
  // Slow or stalled clients are cut off: headers within 10 s, the whole request within the limit.
  const timeoutMs = config.requestTimeoutSeconds * 1000;
  const server = createServer({ headersTimeout: Math.min(10_000, timeoutMs), requestTimeout: timeoutMs, connectionsCheckingInterval: 1000 }, broker.app);
  server.listen(config.port, config.host);
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`,
    broker,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await broker.close();
      instance?.release();
    },
  };
}
