/** The suites' shared fixtures: the secrets every part is started with, test users, and small helpers. */
import { createHash } from 'node:crypto';
import type { WireIds } from '../../src/common/connection-id';
import { parseSealingKeys } from '../../server/broker/token-sealing';

export const SIGNING_SECRET = 'absec_test_signing_secret_for_the_suite';
export const WEBHOOK_SECRET = 'whsec_test_webhook_secret_for_the_suite';
export const KEYS = { test: 'sk_test_brokersuite', live: 'sk_live_brokersuite' };
/** 32 random-looking bytes, in base64, the same every run: a key of one repeated byte is refused at start-up. */
export const fixedKey = (label: string) => createHash('sha256').update(label).digest('base64');
/** The suites' sealing key (id `suite1`, also as TOKEN_SEALING_KEYS text), and a second one for rotation tests (`suite2`). */
export const SEALING_KEYS_TEXT = `suite1:${fixedKey('suite sealing key 1')}`;
export const ROTATED_KEY_TEXT = `suite2:${fixedKey('suite sealing key 2')}`;
export const [SEALING_KEY, ROTATED_SEALING_KEY] = parseSealingKeys(`${SEALING_KEYS_TEXT},${ROTATED_KEY_TEXT}`);

/** A backend environment the configuration accepts (server/config.ts), with one unnamed provider. */
export const CONFIG_ENV: Readonly<Record<string, string>> = {
  STRIPE_SECRET_KEY_TEST: KEYS.test,
  STRIPE_APP_SIGNING_SECRET: SIGNING_SECRET,
  STRIPE_APP_ID: 'com.example.oauth-broker',
  TOKEN_SEALING_KEYS: SEALING_KEYS_TEXT,
  OAUTH_ISSUER: 'https://login.provider.test',
  OAUTH_CLIENT_ID: 'client-1',
};

/** A Dashboard user as a signed request names them. */
export type User = WireIds;

export const alice: User = { user_id: 'usr_alice', account_id: 'acct_one', mode: 'test' };

let users = 0;
/** A user no other test has seen (`prefix` names the suite in the id). */
export const newUser = (prefix: string, extra: Partial<User> = {}): User => ({ ...alice, user_id: `usr_${prefix}${++users}`, ...extra });

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `done` every 50 ms until it holds or `timeoutMs` passes; returns whether it held. */
export async function eventually(done: () => Promise<boolean> | boolean, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await done()) return true;
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
}
