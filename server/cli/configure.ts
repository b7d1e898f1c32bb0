/**
 * `npm run configure`: points the app at a provider in one go (docs/configure.md). Asks for what
 * the flags do not give (when stdin is a terminal), then writes stripe-app.json — its constants
 * PROVIDER, CLIENT_ID and BACKEND_URL, its `id`, and the connect-src the views need — and .env
 * with every variable a deployed backend needs. The sealing key and admin token are generated
 * once and then kept: a new sealing key would leave every stored connection unreadable. No
 * secret is ever printed. STRIPE_APP_DIR: where stripe-app.json and .env are (default: here).
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import { Writable } from 'node:stream';
import { isPresetName, PRESET_NAMES, PROVIDER_PRESETS } from '../../src/common/presets';
import { readAppConfig } from '../../src/lib/app-config';
import { newSealingKey } from '../broker/token-sealing';
import { EnvFile } from './env-file';

const USAGE = `usage: npm run configure -- [--preset NAME] [--client-id ID] [--client-secret SECRET]
                             [--backend-url https://…] [--app-id ID]

  presets: ${PRESET_NAMES.join(', ')}
  the client secret may come from OAUTH_CLIENT_SECRET instead, to keep it out of shell history`;

const FLAGS = ['preset', 'client-id', 'client-secret', 'backend-url', 'app-id'] as const;
type Answers = Partial<Record<(typeof FLAGS)[number], string>>;

/** Constants that would override the preset's URLs (src/lib/app-config.ts). */
const SHADOWING_CONSTANTS = ['AUTHORIZE_URL', 'TOKEN_URL', 'API_BASE_URL', 'PROFILE_PATH', 'SCOPES', 'AUTHORIZE_PARAMS', 'EXCHANGE_MODE'];
/** Variables that would override the preset's location (server/preset-env.ts). */
const SHADOWING_VARIABLES = ['OAUTH_ISSUER', 'OAUTH_TOKEN_ENDPOINT', 'OAUTH_REVOCATION_ENDPOINT', 'OAUTH_API_BASE_URL', 'OAUTH_CLIENT_AUTH'];
/** A value still as .env.example has it (server/placeholders.ts refuses these at start-up). */
const isPlaceholder = (value: string | undefined) => !value || /replace-with-|(\.\.\.|…)$/.test(value);

class UsageError extends Error {}

function parse(argv: string[]): Answers {
  const answers: Answers = {};
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i].replace(/^--/, '') as (typeof FLAGS)[number];
    if (!argv[i].startsWith('--') || !FLAGS.includes(flag) || argv[i + 1] === undefined) throw new UsageError(`unknown argument '${argv[i]}'\n${USAGE}`);
    answers[flag] = argv[i + 1].trim();
  }
  return answers;
}

/** Asks for each missing answer on a terminal; the secret without echo. */
async function ask(answers: Answers, appId: string): Promise<Answers> {
  const muted = { value: false };
  const output = new Writable({ write: (chunk, _encoding, done) => void (muted.value || process.stdout.write(chunk), done()) });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  const question = async (text: string, secret = false) => {
    process.stdout.write(text);
    muted.value = secret;
    const answer = (await rl.question('')).trim();
    muted.value = false;
    if (secret) process.stdout.write('\n');
    return answer;
  };
  try {
    answers.preset ??= await question(`Provider preset (${PRESET_NAMES.join(', ')}): `);
    answers['client-id'] ??= await question('Client id: ');
    answers['client-secret'] ??= (await question('Client secret (empty: a public client; not echoed): ', true)) || undefined;
    answers['backend-url'] ??= await question('Backend URL (https://…): ');
    answers['app-id'] ??= (await question(`App id [${appId}]: `)) || undefined;
  } finally {
    rl.close();
  }
  return answers;
}

function check(answers: Answers): asserts answers is Answers & { preset: string; 'client-id': string; 'backend-url': string } {
  const problems: string[] = [];
  if (!answers.preset) problems.push('--preset is missing');
  else if (!isPresetName(answers.preset)) problems.push(`--preset must be one of ${PRESET_NAMES.join(', ')}`);
  if (!answers['client-id'] || /\s/.test(answers['client-id'])) problems.push('--client-id is missing (or has spaces)');
  const backend = answers['backend-url'];
  if (!backend || !URL.canParse(backend) || new URL(backend).protocol !== 'https:') problems.push('--backend-url must be an https URL (the deployed backend)');
  if (answers['app-id'] !== undefined && !/^[A-Za-z0-9_.-]{1,255}$/.test(answers['app-id'])) problems.push('--app-id must be letters, digits, ., _ and -');
  if (problems.length > 0) throw new UsageError(`${problems.join('\n')}\n${USAGE}`);
}

interface Manifest {
  id: string;
  constants?: Record<string, unknown>;
  ui_extension: { views?: unknown; content_security_policy: { 'connect-src'?: string[] | null; purpose?: string } };
}

/** Where `npm run preview-backend` listens (.env's PORT unset). */
const PREVIEW_BACKEND = 'http://127.0.0.1:8787';

/**
 * stripe-app.preview.json, for `stripe apps start --manifest stripe-app.preview.json`: the app as
 * configured, its views calling the backend on this machine (constants merge over stripe-app.json's
 * key by key; the ui_extension is the preview's own, so its views are copied).
 */
function previewManifest(manifest: Manifest, connectSrc: string[], backendUrl: string) {
  return {
    extends: 'stripe-app.json',
    ui_extension: {
      views: manifest.ui_extension.views,
      content_security_policy: {
        'connect-src': connectSrc.map((src) => (src === `${backendUrl}/api/` ? `${PREVIEW_BACKEND}/api/` : src)),
        'image-src': null,
        purpose: 'Calls the backend of `npm run preview-backend` on this machine (and the provider where the views call it directly).',
      },
    },
    constants: { BACKEND_URL: PREVIEW_BACKEND },
  };
}

/** The constants, id and connect-src; returns what to warn about. */
function configureManifest(manifest: Manifest, answers: Answers & { preset: string; 'client-id': string; 'backend-url': string }): string[] {
  const constants = { ...manifest.constants, PROVIDER: answers.preset, CLIENT_ID: answers['client-id'], BACKEND_URL: answers['backend-url'].replace(/\/+$/, '') };
  const result = readAppConfig(constants);
  if (!result.ok) throw new UsageError(`stripe-app.json: ${result.problems.join(' ')}`);
  const { config } = result;
  manifest.constants = constants;
  if (answers['app-id']) manifest.id = answers['app-id'];
  // What the views call: the backend, and the provider itself only when they exchange or call its API directly.
  manifest.ui_extension.content_security_policy['connect-src'] = [
    `${config.backendUrl}/api/`,
    ...(config.exchangeMode === 'extension' && config.tokenUrl ? [config.tokenUrl] : []),
    ...(config.apiAccess === 'direct' && config.apiBase ? [`${config.apiBase}/`] : []),
  ];
  return SHADOWING_CONSTANTS.filter((name) => name in constants).map((name) => `stripe-app.json: the constant ${name} overrides the ${answers.preset} preset's; remove it unless you mean to`);
}

/** The backend's variables: given ones updated, generated keys kept once made, Stripe's left for the user. */
function configureEnv(env: EnvFile, answers: Answers & { preset: string; 'client-id': string }, appId: string, secret: string | undefined): string[] {
  const notes: string[] = [];
  env.set('STRIPE_APP_ID', appId);
  env.set('OAUTH_PRESET', answers.preset);
  env.set('OAUTH_CLIENT_ID', answers['client-id']);
  if (secret) env.set('OAUTH_CLIENT_SECRET', secret);
  notes.push(secret ? 'client secret: written to .env' : env.get('OAUTH_CLIENT_SECRET') ? 'client secret: kept' : 'no client secret: a public client (PKCE only)');
  const generated: Array<[string, () => string]> = [
    ['TOKEN_SEALING_KEYS', () => newSealingKey('k1')],
    ['ADMIN_TOKEN', () => randomBytes(24).toString('base64url')],
  ];
  for (const [name, make] of generated) {
    const kept = !isPlaceholder(env.get(name));
    if (!kept) env.set(name, make());
    notes.push(`${name}: ${kept ? 'kept' : 'generated, written to .env'}`);
  }
  const toFill: Array<[string, string, string]> = [
    ['STRIPE_SECRET_KEY_TEST', 'sk_test_...', 'your test key (Developers → API keys)'],
    ['STRIPE_APP_SIGNING_SECRET', 'absec_...', 'the app\'s signing secret (after the first `stripe apps upload`: app details → Signing secret)'],
  ];
  for (const [name, placeholder, what] of toFill) {
    if (env.get(name) === undefined) env.set(name, placeholder);
    if (isPlaceholder(env.get(name))) notes.push(`fill in ${name} in .env: ${what}`);
  }
  // Apart from npm start's .data/, whose registry holds connections sealed with its own key.
  if (env.get('DATA_DIR') === undefined) {
    env.set('DATA_DIR', '.data/preview');
    notes.push('DATA_DIR: .data/preview (apart from npm start\'s .data)');
  }
  for (const name of SHADOWING_VARIABLES) {
    if (env.get(name)) notes.push(`.env: ${name} overrides the ${answers.preset} preset's; remove it unless you mean to`);
  }
  return notes;
}

async function main(): Promise<void> {
  const dir = process.env.STRIPE_APP_DIR ?? process.cwd();
  const manifestFile = path.join(dir, 'stripe-app.json');
  const envFile = path.join(dir, '.env');
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as Manifest;
  let answers = parse(process.argv.slice(2));
  if (process.stdin.isTTY) answers = await ask(answers, manifest.id);
  answers['client-secret'] ??= process.env.OAUTH_CLIENT_SECRET?.trim() || undefined;
  check(answers);

  const warnings = configureManifest(manifest, answers);
  writeFileSync(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
  const connectSrc = manifest.ui_extension.content_security_policy['connect-src']!;
  const preview = previewManifest(manifest, connectSrc, (manifest.constants as { BACKEND_URL: string }).BACKEND_URL);
  writeFileSync(path.join(dir, 'stripe-app.preview.json'), `${JSON.stringify(preview, null, 2)}\n`);
  const env = EnvFile.read(envFile);
  const notes = configureEnv(env, answers, manifest.id, answers['client-secret']);
  env.write(envFile);
  chmodSync(envFile, 0o600);

  const preset = PROVIDER_PRESETS[answers.preset as keyof typeof PROVIDER_PRESETS];
  console.log(`stripe-app.json: PROVIDER ${answers.preset} (${preset.label}), CLIENT_ID, BACKEND_URL, id ${manifest.id}`);
  console.log(`stripe-app.json: connect-src ${connectSrc.join(' ')}`);
  console.log(`stripe-app.preview.json: the same app, its views calling ${PREVIEW_BACKEND} (npm run preview-backend)`);
  console.log(`.env: STRIPE_APP_ID, OAUTH_PRESET ${answers.preset}, OAUTH_CLIENT_ID`);
  for (const line of [...notes, ...warnings]) console.log(line);
  console.log(`Register these redirect URIs at the provider: https://dashboard.stripe.com/test/apps-oauth/${manifest.id} and https://dashboard.stripe.com/apps-oauth/${manifest.id}`);
}

main().catch((err: Error) => {
  console.error(err instanceof UsageError ? err.message : `configure failed: ${err.message}`);
  process.exit(err instanceof UsageError ? 2 : 1);
});
