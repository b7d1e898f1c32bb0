/** The connection lock's lease: the provider's timeout × attempts and a margin (LOCK_LEASE_MARGIN_SECONDS). */
import { DEFAULTS, lockTimes } from '../../server/broker/defaults';
import { loadConfig } from '../../server/config';
import { fixedKey } from '../support/fixtures';

const base = {
  STRIPE_SECRET_KEY_TEST: 'sk_test_abc',
  STRIPE_APP_SIGNING_SECRET: 'absec_Kq3ZtV8mWb2xRn5LpY7cJd4H',
  STRIPE_APP_ID: 'com.example.oauth-broker',
  TOKEN_SEALING_KEYS: `k1:${fixedKey('lease key 1')}`,
  OAUTH_ISSUER: 'https://login.provider.test',
  OAUTH_CLIENT_ID: 'client-1',
};

test('the default lease: 30 s × 3 attempts + 2 s, and a waiter gives up 3 s after it', () => {
  expect(loadConfig(base).lockLeaseMarginSeconds).toBe(2);
  expect(lockTimes(DEFAULTS.providerTimeoutSeconds)).toEqual({ leaseMs: 92_000, waitMs: 95_000 });
});

test('LOCK_LEASE_MARGIN_SECONDS: 0.5 to 60 seconds, to a tenth, added to the timeout × attempts', () => {
  const margin = loadConfig({ ...base, LOCK_LEASE_MARGIN_SECONDS: '0.5' }).lockLeaseMarginSeconds;
  expect(margin).toBe(0.5);
  expect(lockTimes(2, 1, margin)).toEqual({ leaseMs: 2500, waitMs: 5500 });
  expect(loadConfig({ ...base, LOCK_LEASE_MARGIN_SECONDS: '60' }).lockLeaseMarginSeconds).toBe(60);
  for (const value of ['0.4', '0', '60.1', '1.25', '-1', '1e1', 'x', '.5']) {
    expect(() => loadConfig({ ...base, LOCK_LEASE_MARGIN_SECONDS: value })).toThrow(/^LOCK_LEASE_MARGIN_SECONDS must be a number of seconds from 0.5 to 60/);
  }
});
