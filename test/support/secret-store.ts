/** An in-memory Secret Store emulator on a loopback port, with a clock the test moves. */
import Stripe from 'stripe';
import { SecretStoreEmulator } from '../../server/local/secret-store/emulator';
import { createStripeClient } from '../../server/stripe-client';

export interface TestSecretStore {
  emulator: SecretStoreEmulator;
  url: string;
  clock: { now: number };
  client: (key?: string, maxNetworkRetries?: number) => Stripe;
  close: () => Promise<void>;
}

export async function startSecretStore(dbFile?: string): Promise<TestSecretStore> {
  const clock = { now: Math.floor(Date.now() / 1000) };
  const emulator = new SecretStoreEmulator({ dbFile, now: () => clock.now });
  const url = await emulator.listen(0);
  return {
    emulator,
    url,
    clock,
    client: (key = 'sk_test_emulator', maxNetworkRetries = 0) => createStripeClient(key, { apiBase: url, maxNetworkRetries }),
    close: () => emulator.close(),
  };
}
