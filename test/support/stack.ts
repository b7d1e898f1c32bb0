/**
 * The real parts a backend talks to: the Secret Store emulator (in process) and the dev provider
 * (child process, test controls on), on one adjustable clock so a test can move past an access
 * token's expiry; and a look at a user's secrets as the Secret Store holds them.
 */
import Stripe from 'stripe';
import { dueAt, secretNames } from '../../src/common/token-layout';
import { DEFAULTS } from '../../server/broker/defaults';
import { TokenSealer } from '../../server/broker/token-sealing';
import { SecretStoreEmulator } from '../../server/local/secret-store/emulator';
import { createStripeClient } from '../../server/stripe-client';
import { startTestProvider, TestProvider } from './dev-provider';
import { USUAL_PROVIDER_ARGS } from './shared-services';
import { KEYS, ROTATED_SEALING_KEY, SEALING_KEY, User } from './fixtures';
import { checkForLeaksAfterEachTest, logLines, seenSecrets } from './leak-check';

export interface Stack {
  provider: TestProvider;
  emulator: SecretStoreEmulator;
  emulatorUrl: string;
  clock: { offset: number };
  now: () => number;
  close: () => Promise<void>;
}

export async function startStack(providerArgs: string[] = USUAL_PROVIDER_ARGS): Promise<Stack> {
  const clock = { offset: 0 };
  const now = () => Math.floor(Date.now() / 1000) + clock.offset;
  const provider = await startTestProvider(providerArgs);
  const emulator = new SecretStoreEmulator({ now });
  const emulatorUrl = await emulator.listen(0);
  return {
    provider,
    emulator,
    emulatorUrl,
    clock,
    now,
    close: async () => {
      await emulator.close();
      await provider.stop();
    },
  };
}

/**
 * A suite's stack: started before its tests and handed to `use`, stopped after them, and the
 * leak check after each test over `logs()` (by default what the in-process backends logged).
 */
export function stackSuite(providerArgs: string[] | undefined, use: (stack: Stack) => void, logs: () => string[] = () => logLines): void {
  let stack: Stack | undefined;
  beforeAll(async () => {
    stack = await startStack(providerArgs);
    use(stack);
  });
  checkForLeaksAfterEachTest(logs);
  afterAll(async () => {
    await stack?.close();
  });
}

/**
 * Reads a user's secrets straight from the emulator with the SDK, as Stripe would hold them;
 * a sealed payload is opened with the suite's keys (`sealed` says it was sealed).
 */
export async function storedSecrets(stack: Pick<Stack, 'emulatorUrl'>, user: User, provider?: string) {
  const stripe = createStripeClient(KEYS[user.mode], { apiBase: stack.emulatorUrl, maxNetworkRetries: 0 });
  const connection = { userId: user.user_id, accountId: user.account_id, mode: user.mode, provider };
  const read = async (name: string) => {
    try {
      const secret = await stripe.apps.secrets.find(
        { name, scope: { type: 'user', user: user.user_id }, expand: ['payload'] },
        { stripeAccount: user.account_id },
      );
      const sealed = TokenSealer.isSealed(secret.payload!);
      const payload = JSON.parse(sealed ? new TokenSealer([SEALING_KEY, ROTATED_SEALING_KEY]).open(secret.payload!, connection, name) : secret.payload!);
      if (payload.access_token) seenSecrets.add(payload.access_token);
      if (payload.refresh_token) seenSecrets.add(payload.refresh_token);
      return { expires_at: secret.expires_at, payload, sealed, raw: secret.payload! };
    } catch (err) {
      if ((err as Stripe.errors.StripeError).statusCode === 404) return undefined;
      throw err;
    }
  };
  const names = secretNames(provider);
  return { access: await read(names.access), refresh: await read(names.refresh) };
}

/**
 * Waits until each user's stored access token is due for refresh by the broker's rule (its margin
 * at the largest jitter; the broker's clock counts whole seconds), instead of sleeping through the
 * token's whole lifetime.
 */
export async function untilDue(stack: Pick<Stack, 'emulatorUrl'>, users: User[]): Promise<void> {
  const latest = await dueTime(stack, users);
  while (Date.now() < latest) await new Promise((resolve) => setTimeout(resolve, Math.min(50, latest - Date.now())));
}

/** When (ms, by the clock the tokens were issued on) every user's stored access token is due, as untilDue waits for it. */
export async function dueTime(stack: Pick<Stack, 'emulatorUrl'>, users: User[]): Promise<number> {
  let latest = 0;
  for (const user of users) {
    // None stored: it has expired (and the Secret Store dropped it), so it is due already.
    const { access } = await storedSecrets(stack, user);
    if (access) latest = Math.max(latest, Math.ceil(dueAt(access.payload, DEFAULTS.refreshMarginSeconds, 1)) * 1000 + 100);
  }
  return latest;
}

/** untilDue for backends on the stack's clock (in process): the clock moved to the users' due time instead of waiting for it. */
export async function clockUntilDue(stack: Stack, users: User[]): Promise<void> {
  // dueTime is a whole second (the broker's clock counts them) and a tenth.
  stack.clock.offset += Math.max(0, Math.floor((await dueTime(stack, users)) / 1000) - stack.now());
}
