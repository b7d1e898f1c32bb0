/**
 * The one place a backend `stripe` client is made: the pinned API version, and the base URL
 * switch (`STRIPE_API_BASE`) that points it at the local Secret Store emulator.
 */
import Stripe from 'stripe';
import { STRIPE_API_VERSION } from '../src/common/stripe-api-version';

export interface StripeClientOptions {
  /** e.g. `http://127.0.0.1:12111`; the real API when omitted. */
  apiBase?: string;
  maxNetworkRetries?: number;
  timeoutMs?: number;
  /** Acts on this account by default (`Stripe-Account`), as the Dashboard's own client does. */
  stripeAccount?: string;
}

export function createStripeClient(secretKey: string, options: StripeClientOptions = {}): Stripe {
  const base = options.apiBase ? new URL(options.apiBase) : undefined;
  return new Stripe(secretKey, {
    apiVersion: STRIPE_API_VERSION,
    telemetry: false,
    maxNetworkRetries: options.maxNetworkRetries ?? 2,
    timeout: options.timeoutMs ?? 20_000,
    stripeAccount: options.stripeAccount,
    ...(base && {
      host: base.hostname,
      port: base.port || (base.protocol === 'https:' ? '443' : '80'),
      protocol: base.protocol === 'https:' ? 'https' : 'http',
    }),
  });
}
