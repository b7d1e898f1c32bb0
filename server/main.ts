/**
 * `npm run backend`: the broker backend from the environment (DESIGN.md, Configuration).
 * A missing or malformed setting stops start-up with one line naming it.
 */
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createBroker } from './app';
import { ConfigError, loadConfig } from './config';
import { runCommand } from './local/cli';
import { createLogger } from './logger';
import { OAuthClient } from './oauth-client';
import { SqliteRegistry } from './registry';
import { createStripeClient } from './stripe-client';
import { SecretStoreClients } from './user-secrets';

runCommand(async () => {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  let oauth: OAuthClient;
  try {
    oauth = await OAuthClient.create(config.provider);
  } catch {
    throw new ConfigError(`OAUTH_ISSUER: discovery at ${config.provider.issuer ?? config.provider.tokenEndpoint} failed`);
  }
  mkdirSync(config.dataDir, { recursive: true });
  const clients = Object.fromEntries(
    Object.entries(config.secretKeys).map(([mode, key]) => [mode, createStripeClient(key, { apiBase: config.stripeApiBase, maxNetworkRetries: 0 })]),
  );
  const broker = createBroker({
    appSigningSecret: config.appSigningSecret,
    webhookSecret: config.webhookSecret,
    oauth,
    secrets: new SecretStoreClients(clients, { attempts: 4, baseDelayMs: 250 }),
    registry: new SqliteRegistry(path.join(config.dataDir, 'registry.sqlite')),
    logger,
    refresh: { marginSeconds: config.refreshMarginSeconds, defaultAccessLifetimeSeconds: config.defaultAccessLifetimeSeconds },
  });
  const server = broker.app.listen(config.port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject));
  console.log(`Broker backend listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  return async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await broker.close();
  };
});
