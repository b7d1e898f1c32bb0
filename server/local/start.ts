/**
 * `npm start`: the offline stack on 127.0.0.1 — the Secret Store emulator, the dev OAuth
 * provider, and the broker backend wired to both — with state kept under DATA_DIR (default
 * .data/, git-ignored), and their URLs printed. Ports: SECRET_STORE_PORT (12111),
 * OAUTH_PROVIDER_PORT (9090), PORT (8787). The local app signing secret is made once and
 * kept in DATA_DIR/local-secrets.json, for tools that sign requests as the Dashboard would, and
 * so is the local token sealing key.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { APP_ID } from '../../src/lib/app-id';
import { startBackend } from '../backend';
import { loadConfig } from '../config';
import { newSealingKey } from '../token-sealing';
import { parsePort, runCommand } from './cli';
import { PUBLIC_CLIENT_ID } from './oauth-provider/clients';
import { startDevProvider } from './oauth-provider/provider';
import { SecretStoreEmulator } from './secret-store/emulator';

interface LocalSecrets {
  appSigningSecret: string;
  tokenSealingKeys: string;
}

/** Made once per DATA_DIR and kept, so a restart still verifies and opens what it wrote. */
function localSecrets(dataDir: string): { file: string; secrets: LocalSecrets } {
  const file = path.join(dataDir, 'local-secrets.json');
  const kept: Partial<LocalSecrets> = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
  const secrets: LocalSecrets = {
    appSigningSecret: kept.appSigningSecret ?? `absec_local${randomBytes(16).toString('hex')}`,
    tokenSealingKeys: kept.tokenSealingKeys ?? newSealingKey('local1'),
  };
  writeFileSync(file, JSON.stringify(secrets), { mode: 0o600 });
  return { file, secrets };
}

runCommand(async () => {
  const dataDir = process.env.DATA_DIR ?? '.data';
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const secretStore = new SecretStoreEmulator({ dbFile: path.join(dataDir, 'secret-store.sqlite') });
  const secretStoreUrl = await secretStore.listen(parsePort(process.env.SECRET_STORE_PORT, 12111));
  const provider = await startDevProvider({ port: parsePort(process.env.OAUTH_PROVIDER_PORT, 9090), dbFile: path.join(dataDir, 'oauth-provider.sqlite') });
  const local = localSecrets(dataDir);
  const backend = await startBackend({
    ...loadConfig({
      STRIPE_SECRET_KEY_TEST: 'sk_test_local',
      STRIPE_SECRET_KEY_LIVE: 'sk_live_local',
      STRIPE_APP_SIGNING_SECRET: local.secrets.appSigningSecret,
      TOKEN_SEALING_KEYS: local.secrets.tokenSealingKeys,
      STRIPE_APP_ID: APP_ID,
      STRIPE_API_BASE: secretStoreUrl,
      OAUTH_ISSUER: provider.issuer,
      OAUTH_CLIENT_ID: PUBLIC_CLIENT_ID,
      DATA_DIR: dataDir,
      PORT: process.env.PORT ?? '8787',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
    }),
    allowLoopbackRedirects: true,
  });
  console.log(`Secret Store emulator  ${secretStoreUrl}`);
  console.log(`Dev OAuth provider     ${provider.issuer}  (users alice, bob; password dev-password)`);
  console.log(`Broker backend         ${backend.url}  (app signing secret and sealing key in ${local.file})`);
  return async () => {
    await backend.stop();
    await provider.close();
    await secretStore.close();
  };
});
