/**
 * `npm start`: the offline stack on 127.0.0.1 — the offline Dashboard (console/), the Secret
 * Store emulator, the dev OAuth provider, and the broker backend wired to them — with state kept
 * under DATA_DIR (default .data/, git-ignored), and their URLs printed, the console's first.
 * Ports: CONSOLE_PORT (8790), SECRET_STORE_PORT (12111), OAUTH_PROVIDER_PORT (9090), PORT (8787).
 * The local app signing secret, token sealing key, admin token and events secret are made once
 * and kept in DATA_DIR/local-secrets.json. The backend delivers its connection events to the
 * console, refreshes idle connections after KEEP_ALIVE_SECONDS (45 here, so the 60 s access
 * tokens of the dev provider are renewed before they run out) and logs readable lines
 * (LOG_FORMAT=json for JSON). STRIPE_APP_DIR: where the app's manifest and src/ are (this repository);
 * CONSOLE_HOST_CALLS=1: the console plays the older Dashboard, without the app embedded key.
 * Two services by default (docs/services.md): the dev provider as the OAuth provider `dev`, and
 * its API as `notes`, an API-key service; LOCAL_ONE_PROVIDER=1 runs the one unnamed provider instead.
 */
import { parsePort, runCommand } from '../command';
import { keepPrivate } from '../storage/private-dir';
import { checkPortsFree } from './ports';

runCommand(async () => {
  const dataDir = process.env.DATA_DIR ?? '.data';
  // The local signing secret, sealing key and every database here are this user's alone.
  process.umask(0o077);
  const tightened = keepPrivate(dataDir);
  if (tightened.length > 0) console.warn(`warning: ${dataDir} was readable by other users; tightened to 0700/0600: ${tightened.join(', ')}`);
  const ports = {
    console: parsePort(process.env.CONSOLE_PORT, 8790),
    secretStore: parsePort(process.env.SECRET_STORE_PORT, 12111),
    provider: parsePort(process.env.OAUTH_PROVIDER_PORT, 9090),
  };
  // A taken port stops start-up before the stack loads (most of a start's time).
  await checkPortsFree([['CONSOLE_PORT', ports.console], ['SECRET_STORE_PORT', ports.secretStore], ['OAUTH_PROVIDER_PORT', ports.provider], ['PORT', Number(process.env.PORT ?? 8787)]]);
  const { startOfflineStack } = await import('./offline-stack.js');
  return startOfflineStack(dataDir, ports);
});
