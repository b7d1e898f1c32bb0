/**
 * Secret Store access confined to one connection: the mode's key, `stripeAccount` of the
 * account, and the user scope of the user — the backend never touches another scope.
 * Transient failures (5xx, 409, 429, network) are retried with backoff; writes carry one
 * idempotency key across all attempts, so a retry of a write that did land is a replay.
 */
import Stripe from 'stripe';
import type { StripeMode } from '../src/lib/redirect-uri';
import type { ConnectionId } from '../src/lib/connection-id';
import { HttpError } from './http-error';

export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
}

export const isTransientStripeError = (err: unknown) =>
  err instanceof Stripe.errors.StripeAPIError ||
  err instanceof Stripe.errors.StripeConnectionError ||
  err instanceof Stripe.errors.StripeRateLimitError;

const isMissing = (err: unknown) => err instanceof Stripe.errors.StripeInvalidRequestError && err.statusCode === 404;

export async function withRetries<T>(policy: RetryPolicy, fn: () => Promise<T>, retryable: (err: unknown) => boolean): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= policy.attempts || !retryable(err)) throw err;
      const delay = policy.baseDelayMs * 2 ** (attempt - 1);
      await new Promise((resolve) => setTimeout(resolve, delay / 2 + Math.random() * (delay / 2)));
    }
  }
}

export class SecretStoreClients {
  constructor(
    private readonly clients: Partial<Record<StripeMode, Stripe>>,
    private readonly retry: RetryPolicy,
  ) {}

  forConnection(connection: ConnectionId): UserSecrets {
    const stripe = this.clients[connection.mode];
    if (!stripe) throw new HttpError(400, 'mode_not_configured', `This backend has no Stripe key for ${connection.mode} mode.`);
    return new UserSecrets(stripe, connection, this.retry);
  }
}

export class UserSecrets {
  private readonly scope: { type: 'user'; user: string };
  private readonly options: Stripe.RequestOptions;

  constructor(
    private readonly stripe: Stripe,
    connection: ConnectionId,
    private readonly retry: RetryPolicy,
  ) {
    this.scope = { type: 'user', user: connection.userId };
    this.options = { stripeAccount: connection.accountId };
  }

  /** The payload, or undefined when the secret does not exist (or has expired). */
  async read(name: string): Promise<string | undefined> {
    try {
      const secret = await withRetries(this.retry, () =>
        this.stripe.apps.secrets.find({ name, scope: this.scope, expand: ['payload'] }, this.options), isTransientStripeError);
      return secret.payload ?? undefined;
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async write(name: string, payload: string, expiresAt: number | null, idempotencyKey: string): Promise<void> {
    await withRetries(this.retry, () =>
      this.stripe.apps.secrets.create(
        { name, payload, scope: this.scope, ...(expiresAt !== null && { expires_at: expiresAt }) },
        { ...this.options, idempotencyKey },
      ), isTransientStripeError);
  }

  /** Deletes the secret; one that is already gone is fine. */
  async remove(name: string): Promise<void> {
    try {
      await withRetries(this.retry, () => this.stripe.apps.secrets.deleteWhere({ name, scope: this.scope }, this.options), isTransientStripeError);
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
  }
}
