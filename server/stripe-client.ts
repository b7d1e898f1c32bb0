/**
 * The one place a backend `stripe` client is made: the pinned API version, the base URL switch
 * (`STRIPE_API_BASE`) that points it at the local Secret Store emulator, and for the backend's own
 * clients (`bounded`) the bounds of an exchange: they send through `fetch`, as stripe-node's fetch
 * client holds its timeout over the whole exchange, the answer's body included (its default Node
 * client's is an idle timeout, which an answer trickling in never reaches, and it retries a dropped
 * connection once on its own), and read an answer up to `MAX_ANSWER_BYTES`.
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
  /** The backend's Secret Store clients: the timeout covers the whole exchange, and an answer is read up to 1 MB. */
  bounded?: boolean;
}

/** Far above any Secret Store answer (a payload holds at most 5,000 characters, a list 100 names). */
const MAX_ANSWER_BYTES = 1024 * 1024;

/** An answer's body that errors past `maxBytes`: stripe-node reports a connection error, and the rest is never read. */
function limitedBody(body: ReadableStream<Uint8Array>, maxBytes: number): ReadableStream<Uint8Array> {
  let read = 0;
  return body.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      read += chunk.length;
      if (read > maxBytes) controller.error(new Error(`answer larger than ${maxBytes} bytes`));
      else controller.enqueue(chunk);
    },
  }));
}

const boundedFetch: typeof fetch = async (input, init) => {
  const response = await fetch(input, init);
  if (!response.body) return response;
  return new Response(limitedBody(response.body, MAX_ANSWER_BYTES), { status: response.status, statusText: response.statusText, headers: response.headers });
};

export function createStripeClient(secretKey: string, options: StripeClientOptions = {}): Stripe {
  const base = options.apiBase ? new URL(options.apiBase) : undefined;
  return new Stripe(secretKey, {
    apiVersion: STRIPE_API_VERSION,
    telemetry: false,
    ...(options.bounded && { httpClient: Stripe.createFetchHttpClient(boundedFetch) }),
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
