/**
 * The parts of `npm start` (start.ts) wired together and started, once start.ts found its ports
 * free: loaded only then, as they take most of a start's time to load.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { APP_ID } from '../../src/common/app-id';
import { startBackend } from '../backend';
import { customerNotes } from '../examples/customer-notes';
import { loadConfig } from '../config';
import { newSealingKey, TokenSealer } from '../broker/token-sealing';
import { connectionKey } from '../../src/common/connection-id';
import { OfflineConsole } from './console/console-server';
import { readableLines } from './log-lines';
import { listening } from './ports';
import { PUBLIC_CLIENT_ID } from './oauth-provider/clients';
import { startDevProvider } from './oauth-provider/provider';
import { SecretStoreEmulator } from './secret-store/emulator';

interface LocalSecrets {
  appSigningSecret: string;
  tokenSealingKeys: string;
  webhookSecret: string;
  adminToken: string;
  eventsSecret: string;
}

/** Made once per DATA_DIR and kept, so a restart still verifies and opens what it wrote. */
function localSecrets(dataDir: string): { file: string; secrets: LocalSecrets } {
  const file = path.join(dataDir, 'local-secrets.json');
  const kept: Partial<LocalSecrets> = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
  const secrets: LocalSecrets = {
    appSigningSecret: kept.appSigningSecret ?? `absec_local${randomBytes(16).toString('hex')}`,
    tokenSealingKeys: kept.tokenSealingKeys ?? newSealingKey('local1'),
    webhookSecret: kept.webhookSecret ?? `whsec_local${randomBytes(16).toString('hex')}`,
    // `npm run connections` finds it here when ADMIN_TOKEN is not set.
    adminToken: kept.adminToken ?? randomBytes(24).toString('base64url'),
    eventsSecret: kept.eventsSecret ?? `whsec_${randomBytes(32).toString('base64')}`,
  };
  writeFileSync(file, JSON.stringify(secrets), { mode: 0o600 });
  return { file, secrets };
}

/** The backend's providers: the dev provider by OAuth and, by default, its API again by API key. */
function providerEnv(issuer: string, oneProvider: boolean): Record<string, string> {
  const api = `${issuer}/api`;
  if (oneProvider) return { OAUTH_ISSUER: issuer, OAUTH_CLIENT_ID: PUBLIC_CLIENT_ID, OAUTH_API_BASE_URL: api };
  return {
    OAUTH_PROVIDERS: 'dev,notes',
    OAUTH_DEV_ISSUER: issuer,
    OAUTH_DEV_CLIENT_ID: PUBLIC_CLIENT_ID,
    OAUTH_DEV_API_BASE_URL: api,
    OAUTH_NOTES_KIND: 'api_key',
    OAUTH_NOTES_API_BASE_URL: api,
    OAUTH_NOTES_VERIFY_PATH: '/me',
  };
}

/** Starts the stack on `ports` (the backend's is PORT) with its state in `dataDir`, prints its URLs, and resolves with its stop. */
export async function startOfflineStack(dataDir: string, ports: { console: number; secretStore: number; provider: number }): Promise<() => Promise<void>> {
  // What started stops again in this order: the console first (it reads the others), then the
  // rest newest first. A start that fails stops what it started: the console's build watcher
  // would otherwise outlive the process.
  const stops: Array<() => Promise<void>> = [];
  const started = (stop: () => Promise<void>) => void stops.splice(Math.min(1, stops.length), 0, stop);
  const stopAll = async () => {
    for (const stop of stops.splice(0)) await stop();
  };
  try {
    const offline = await listening('CONSOLE_PORT', ports.console, () => OfflineConsole.listen(ports.console, { appRoot: process.env.STRIPE_APP_DIR, hostCalls: process.env.CONSOLE_HOST_CALLS === '1' }));
    started(() => offline.close());
    // The console builds its page and views while the Secret Store and the provider start. Each
    // start is waited for, so that a failure of one still stops the others.
    const secretStore = new SecretStoreEmulator({ dbFile: path.join(dataDir, 'secret-store.sqlite') });
    const storeStarted = listening('SECRET_STORE_PORT', ports.secretStore, () => secretStore.listen(ports.secretStore)).then((url) => {
      started(() => secretStore.close());
      return url;
    });
    // Access tokens live a minute here, so the console shows a refresh soon.
    const providerStarted = listening('OAUTH_PROVIDER_PORT', ports.provider, () =>
      startDevProvider({ port: ports.provider, dbFile: path.join(dataDir, 'oauth-provider.sqlite'), accessTokenTtlSeconds: 60, redirectUris: [offline.returnUrl] })).then((provider) => {
      started(() => provider.close());
      return provider;
    });
    for (const result of await Promise.allSettled([offline.built(), storeStarted, providerStarted])) if (result.status === 'rejected') throw result.reason;
    const [secretStoreUrl, provider] = [await storeStarted, await providerStarted];
    const local = localSecrets(dataDir);
    const config = {
      ...loadConfig({
        STRIPE_SECRET_KEY_TEST: 'sk_test_local',
        STRIPE_SECRET_KEY_LIVE: 'sk_live_local',
        STRIPE_APP_SIGNING_SECRET: local.secrets.appSigningSecret,
        TOKEN_SEALING_KEYS: local.secrets.tokenSealingKeys,
        STRIPE_APP_ID: APP_ID,
        STRIPE_API_BASE: secretStoreUrl,
        STRIPE_WEBHOOK_SECRET: local.secrets.webhookSecret,
        ADMIN_TOKEN: local.secrets.adminToken,
        EVENTS_WEBHOOK_URL: offline.eventsUrl,
        EVENTS_WEBHOOK_SECRET: local.secrets.eventsSecret,
        KEEP_ALIVE_SECONDS: process.env.KEEP_ALIVE_SECONDS ?? '45',
        ...providerEnv(provider.issuer, process.env.LOCAL_ONE_PROVIDER === '1'),
        CONNECTION_SCOPE: process.env.CONNECTION_SCOPE ?? 'user',
        DATA_DIR: dataDir,
        PORT: process.env.PORT ?? '8787',
        LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
      }),
      localStack: true,
    };
    // The server-side example: a customer created in an account is noted at the dev provider (as the account's API key, or each OAuth connection).
    const backend = await listening('PORT', config.port, () => startBackend(config, {
      logTap: offline.log.tap,
      logTo: process.env.LOG_FORMAT === 'json' ? undefined : readableLines(),
      stripeEventHandlers: customerNotes,
    }));
    started(() => backend.stop());
    offline.attach({
      emulatorUrl: secretStoreUrl,
      issuer: provider.issuer,
      backendUrl: backend.url,
      clientId: PUBLIC_CLIENT_ID,
      services: config.providers.map((p) => ({ ...(p.name && { name: p.name }), kind: p.apiKey ? 'api_key' : 'oauth' })),
      issueApiKey: provider.issueApiKey,
      secretKeys: { test: 'sk_test_local', live: 'sk_live_local' },
      signingSecret: local.secrets.appSigningSecret,
      sealer: new TokenSealer(config.sealingKeys),
      connectionScope: config.connectionScope,
      eventsSecret: local.secrets.eventsSecret,
      events: backend.broker.storage.events,
      invalidate: (connection) => backend.broker.cache.invalidate(connectionKey(connection)),
      records: backend.broker.storage.records,
    });
    console.log(`Offline Dashboard      ${offline.url}  <- open this: the app's drawer and settings, with its secrets and refreshes beside them`);
    console.log(`Secret Store emulator  ${secretStoreUrl}`);
    console.log(`Dev OAuth provider     ${provider.issuer}  (users alice, bob; password dev-password)${config.providers.length > 1 ? '; services dev (OAuth) and notes (API key)' : ''}`);
    console.log(`Broker backend         ${backend.url}  (app signing secret and sealing key in ${local.file})`);
    return stopAll;
  } catch (err) {
    await stopAll().catch(() => undefined);
    throw err;
  }
}
