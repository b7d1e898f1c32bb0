/**
 * The one place a backend `stripe` client is made: the pinned API version, and the base URL
 * switch (`STRIPE_API_BASE`) that points it at the local Secret Store emulator.
 */
import Stripe from 'stripe';

export const STRIPE_API_VERSION = '2026-10-28.endive' as const;

export interface StripeClientOptions {
  /** e.g. `http://127.0.0.1:12111`; the real API when omitted. */
  apiBase?: string;
  maxNetworkRetries?: number;
  timeoutMs?: number;
}

export function createStripeClient(secretKey: string, options: StripeClientOptions = {}): Stripe {
  const base = options.apiBase ? new URL(options.apiBase) : undefined;
  return new Stripe(secretKey, {
    apiVersion: STRIPE_API_VERSION,
    telemetry: false,
    maxNetworkRetries: options.maxNetworkRetries ?? 2,
    timeout: options.timeoutMs ?? 20_000,
    ...(base && {
      host: base.hostname,
      port: base.port || (base.protocol === 'https:' ? '443' : '80'),
      protocol: base.protocol === 'https:' ? 'https' : 'http',
    }),
  });
}
