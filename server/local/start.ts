/**
 * `npm start`: the offline stack on 127.0.0.1 — the Secret Store emulator and the dev OAuth
 * provider — with state kept under DATA_DIR (default .data/, git-ignored), and their URLs printed.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { runCommand } from './cli';
import { startDevProvider } from './oauth-provider/provider';
import { SecretStoreEmulator } from './secret-store/emulator';

runCommand(async () => {
  const dataDir = process.env.DATA_DIR ?? '.data';
  mkdirSync(dataDir, { recursive: true });
  const secretStore = new SecretStoreEmulator({ dbFile: path.join(dataDir, 'secret-store.sqlite') });
  const secretStoreUrl = await secretStore.listen(12111);
  const provider = await startDevProvider({ port: 9090, dbFile: path.join(dataDir, 'oauth-provider.sqlite') });
  console.log(`Secret Store emulator  ${secretStoreUrl}`);
  console.log(`Dev OAuth provider     ${provider.issuer}`);
  return async () => {
    await provider.close();
    await secretStore.close();
  };
});
