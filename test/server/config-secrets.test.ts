/**
 * Configuration refuses weak secrets: placeholders, one repeated character or byte, patterns,
 * too little variety — in the app signing secret, the Stripe webhook secrets, the admin and
 * metrics tokens, the sealing keys and the events secrets — naming the variable, never the value;
 * random ones always pass. STRIPE_WEBHOOK_SECRET takes one secret per endpoint (test and live),
 * and a backend started with them verifies Stripe events signed with either.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../server/config';
import { ROOT } from '../support/commands';
import { CONFIG_ENV, fixedKey, SEALING_KEYS_TEXT, WEBHOOK_SECRET } from '../support/fixtures';
import { EVENT_SECRETS } from '../support/event-receiver';
import { backendEnv, startBackendProcess } from '../support/fleet';
import { seenSecrets } from '../support/leak-check';
import { postStripeEvent } from '../support/signed-calls';
import { type Stack, stackSuite } from '../support/stack';

const base = CONFIG_ENV;
const EVENTS_URL = 'https://hooks.example.com/broker';

/** The problems loadConfig reports for `env` over the base (none: it was accepted). */
function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig({ ...base, ...env });
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.problems;
  }
}

const base64Key = (bytes: number[] | Buffer) => Buffer.from(bytes).toString('base64');

test('the weak values reported are refused, each naming its variable', () => {
  expect(problemsOf({ STRIPE_APP_SIGNING_SECRET: 'absec_' })).toEqual(['STRIPE_APP_SIGNING_SECRET is too weak: shorter than 24 characters after absec_']);
  expect(problemsOf({ TOKEN_SEALING_KEYS: `k1:${base64Key(Buffer.alloc(32))}` })).toEqual(['TOKEN_SEALING_KEYS: key k1 is too weak: too few different bytes']);
  expect(problemsOf({ ADMIN_TOKEN: 'aaaaaaaaaaaaaaaa' })).toEqual(['ADMIN_TOKEN is too weak: too few different characters']);
  // Two secrets are two entries now, each checked: these are too short to be Stripe's.
  expect(problemsOf({ STRIPE_WEBHOOK_SECRET: 'whsec_a,whsec_b' })).toEqual(['STRIPE_WEBHOOK_SECRET: entry 1 is too weak: shorter than 24 characters after whsec_']);
});

test('placeholders, repeats, runs and low variety are refused in every secret, and no message quotes the value', () => {
  const weak: Array<[Record<string, string>, string, string]> = [
    [{ STRIPE_APP_SIGNING_SECRET: 'absec_...' }, 'STRIPE_APP_SIGNING_SECRET is still the placeholder of .env.example: put in your own value', '...'],
    [{ STRIPE_APP_SIGNING_SECRET: `absec_${'x'.repeat(32)}` }, 'STRIPE_APP_SIGNING_SECRET is too weak: too few different characters after absec_', 'x'.repeat(32)],
    [{ STRIPE_APP_SIGNING_SECRET: 'absec_abcdefghijklmnopqrstuvwxyz' }, 'STRIPE_APP_SIGNING_SECRET is too weak: a repeated pattern or a run after absec_', 'abcdefghijklmnopqrstuvwxyz'],
    [{ STRIPE_WEBHOOK_SECRET: 'whsec_...' }, 'STRIPE_WEBHOOK_SECRET is still the placeholder of .env.example: put in your own value', '...'],
    [{ STRIPE_WEBHOOK_SECRET: `${WEBHOOK_SECRET},whsec_${'Ab3xYz9Q'.repeat(4)}` }, 'STRIPE_WEBHOOK_SECRET: entry 2 is too weak: a repeated pattern or a run after whsec_', 'Ab3xYz9Q'.repeat(4)],
    [{ STRIPE_WEBHOOK_SECRET: `${WEBHOOK_SECRET},absec_${'Ab3'.repeat(10)}` }, 'STRIPE_WEBHOOK_SECRET: entry 2 must be a webhook signing secret (whsec_…)', 'Ab3'.repeat(10)],
    [{ ADMIN_TOKEN: 'password12345678' }, 'ADMIN_TOKEN is too weak: a repeated pattern or a run', 'password12345678'],
    [{ METRICS_TOKEN: 'abababababababababab' }, 'METRICS_TOKEN is too weak: too few different characters', 'abababababababababab'],
    [{ TOKEN_SEALING_KEYS: `k1:${base64Key(Buffer.alloc(32, 7))}` }, 'TOKEN_SEALING_KEYS: key k1 is too weak: too few different bytes', base64Key(Buffer.alloc(32, 7))],
    [{ TOKEN_SEALING_KEYS: `${SEALING_KEYS_TEXT},k0:${base64Key(Array.from({ length: 32 }, (_, i) => i))}` }, 'TOKEN_SEALING_KEYS: key k0 is too weak: a repeated pattern or a run', base64Key(Array.from({ length: 32 }, (_, i) => i))],
    [{ EVENTS_WEBHOOK_URL: EVENTS_URL, EVENTS_WEBHOOK_SECRET: `whsec_${base64Key(Buffer.alloc(32, 3))}` }, 'EVENTS_WEBHOOK_SECRET: entry 1 is too weak: too few different bytes', base64Key(Buffer.alloc(32, 3))],
    [{ EVENTS_WEBHOOK_URL: EVENTS_URL, EVENTS_WEBHOOK_SECRET: `${EVENT_SECRETS[0]},whsec_${base64Key(Buffer.concat(Array(4).fill(randomBytes(8))))}` }, 'EVENTS_WEBHOOK_SECRET: entry 2 is too weak: too few different bytes', ''],
  ];
  for (const [env, message, value] of weak) {
    const problems = problemsOf(env);
    expect(problems).toEqual([message]);
    if (value) expect(problems.join('\n')).not.toContain(value);
  }
});

test('random secrets made as the README says always pass, and so do the suites\' fixtures', () => {
  for (let i = 0; i < 200; i++) {
    const env = {
      STRIPE_APP_SIGNING_SECRET: `absec_${randomBytes(24).toString('base64url')}`,
      STRIPE_WEBHOOK_SECRET: `whsec_${randomBytes(16).toString('hex')},whsec_${randomBytes(24).toString('base64url')}`,
      TOKEN_SEALING_KEYS: `k1:${randomBytes(32).toString('base64')},k0:${randomBytes(32).toString('base64')}`,
      ADMIN_TOKEN: randomBytes(24).toString('base64url'),
      METRICS_TOKEN: randomBytes(16).toString('hex'),
      EVENTS_WEBHOOK_URL: EVENTS_URL,
      EVENTS_WEBHOOK_SECRET: `whsec_${randomBytes(32).toString('base64')},whsec_${randomBytes(24).toString('base64')}`,
    };
    expect(problemsOf(env)).toEqual([]);
  }
  expect(problemsOf({ STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET, EVENTS_WEBHOOK_URL: EVENTS_URL, EVENTS_WEBHOOK_SECRET: EVENT_SECRETS.join(','), TOKEN_SEALING_KEYS: `suite2:${fixedKey('suite sealing key 2')},${SEALING_KEYS_TEXT}` })).toEqual([]);
});

test('.env.example as shipped, before it is filled in, is refused: its placeholders are no secrets', () => {
  const example = Object.fromEntries(
    readFileSync(path.join(ROOT, '.env.example'), 'utf8').split('\n').filter((line) => /^[A-Z_]+=/.test(line)).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
  let problems: string[] = [];
  try {
    loadConfig(example);
  } catch (err) {
    problems = (err as ConfigError).problems;
  }
  expect(problems).toEqual(expect.arrayContaining([
    'STRIPE_APP_SIGNING_SECRET is still the placeholder of .env.example: put in your own value',
    'TOKEN_SEALING_KEYS is still the placeholder of .env.example: put in your own value',
  ]));
});

describe('a backend with a test and a live webhook secret', () => {
  let stack: Stack;
  const outputs: string[] = [];
  stackSuite(undefined, (started) => (stack = started), () => outputs);

  test('verifies a Stripe event signed with either, and refuses one signed with another', async () => {
    const live = `whsec_${randomBytes(24).toString('base64url')}`;
    seenSecrets.add(live);
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'config-secrets-'));
    const backend = await startBackendProcess(backendEnv(stack, { DATA_DIR: dataDir, STRIPE_WEBHOOK_SECRET: `${WEBHOOK_SECRET}, ${live}` }));
    try {
      const event = (id: string) => ({ id, object: 'event', type: 'customer.created', livemode: false, data: { object: {} } });
      expect((await postStripeEvent(backend, event('evt_signed_test'), WEBHOOK_SECRET)).status).toBe(200);
      expect((await postStripeEvent(backend, event('evt_signed_live'), live)).status).toBe(200);
      const other = await postStripeEvent(backend, event('evt_signed_other'), `whsec_${randomBytes(24).toString('base64url')}`);
      expect([other.status, ((await other.json()) as { error: { code: string } }).error.code]).toEqual([400, 'invalid_webhook_signature']);
    } finally {
      outputs.push(backend.output());
      await backend.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
