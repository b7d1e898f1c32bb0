/**
 * The broker's failures: one catalogue of codes, each with a message written here or at the
 * throw — never copied from a provider or the Secret Store, so no token, code or secret can
 * reach an answer. The HTTP layer (server/http/errors.ts) gives each code its status.
 */
import Stripe from 'stripe';
import { MAX_SECRETS_PER_SCOPE, TokenTooLargeError } from '../../src/common/token-layout';
import { isStorageUnavailable } from '../storage/errors';

export const BROKER_ERROR_CODES = [
  'invalid_request',
  'invalid_code',
  'invalid_api_key',
  'mode_not_configured',
  'not_connected',
  'reconnect_required',
  'provider_rejected',
  'token_too_large',
  'provider_unavailable',
  'secret_store_unavailable',
  'secret_store_busy',
  'busy',
  'refresh_pending',
  'registry_unavailable',
  'sealing_key_missing',
  'secret_store_full',
  'proxy_not_configured',
  'upstream_unreachable',
  'upstream_too_large',
  'upstream_timeout',
] as const;

export type BrokerErrorCode = (typeof BROKER_ERROR_CODES)[number];

export class BrokerError extends Error {
  constructor(
    readonly code: BrokerErrorCode,
    message: string,
    /** Sent as Retry-After. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

export const notConnected = () => new BrokerError('not_connected', 'No connection for this user; connect first.');
export const reconnectRequired = () => new BrokerError('reconnect_required', 'The provider no longer accepts this connection; connect again.');
export const providerUnavailable = () =>
  new BrokerError('provider_unavailable', 'The OAuth provider is unavailable; try again shortly. Tokens were kept.');
/** A code exchange whose answer was lost or unreadable: the provider may have redeemed the code, so only a new sign-in helps. */
export const signInOutcomeUnknown = () =>
  new BrokerError('provider_unavailable', "The OAuth provider's answer to the sign-in was lost or could not be read, and the code is spent; connect again.");
export const providerRejected = () =>
  new BrokerError('provider_rejected', 'The OAuth provider rejected the request; check the client configuration.');
export const secretStoreUnavailable = () =>
  new BrokerError('secret_store_unavailable', 'The Stripe Secret Store is unavailable; try again shortly.');
export const secretStoreBusy = (retryAfterSeconds: number) =>
  new BrokerError('secret_store_busy', 'The Secret Store is at its request limit; try again shortly. Nothing was lost.', retryAfterSeconds);
export const busy = () => new BrokerError('busy', 'Another operation on this connection is still running; try again shortly.');
export const refreshPending = () =>
  new BrokerError('refresh_pending', 'The token is being refreshed and the provider is slow; try again shortly. Nothing was lost.');

export const sealingKeyMissing = () =>
  new BrokerError('sealing_key_missing', "This backend lacks the key this connection's refresh token is sealed with; try again shortly. Nothing was lost.");

/** A Secret Store failure that may pass (5xx, 409, 429, network): tokens are kept, the caller retries. */
export const isTransientStripeError = (err: unknown) =>
  err instanceof Stripe.errors.StripeAPIError ||
  err instanceof Stripe.errors.StripeConnectionError ||
  err instanceof Stripe.errors.StripeRateLimitError;

export const secretStoreFull = () =>
  new BrokerError('secret_store_full', `Your Secret Store scope holds its ${MAX_SECRETS_PER_SCOPE} secrets already; remove one (another app's or an old one) and try again.`);

export const registryUnavailable = () =>
  new BrokerError('registry_unavailable', "The broker's database is unavailable; try again shortly. Tokens were kept.");

/** The broker's meaning of an error from below it, when it has one. */
export function asBrokerError(err: unknown): BrokerError | undefined {
  if (err instanceof BrokerError) return err;
  // Stripe's own 429 (a limit shared with other apps, or another instance's spending) says the same as our budget.
  if (err instanceof Stripe.errors.StripeRateLimitError) return secretStoreBusy(1);
  if (isTransientStripeError(err)) return secretStoreUnavailable();
  if (isStorageUnavailable(err)) return registryUnavailable();
  if (err instanceof TokenTooLargeError) return new BrokerError('token_too_large', err.message);
  return undefined;
}

/** For logs: an error's class, status and code only — a Stripe error's message can echo parameters. */
export function describeError(err: unknown): string {
  if (err instanceof BrokerError) return err.code;
  if (err && typeof err === 'object' && 'type' in err) {
    const e = err as { type: string; statusCode?: number; code?: string };
    return `${e.type}${e.statusCode ? ` ${e.statusCode}` : ''}${e.code ? ` ${e.code}` : ''}`;
  }
  const { name, code } = (err ?? {}) as { name?: unknown; code?: unknown };
  return [name, code].filter((part) => typeof part === 'string').join(' ') || 'unknown error';
}
