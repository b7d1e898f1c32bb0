/**
 * Secret Store access confined to one connection: the mode's key, `stripeAccount` of the
 * account, and the connection's scope (the user's, or the account's for an account-wide
 * connection) — the backend never touches another scope.
 * Every attempt waits for the request budget (secret-store-budget.ts). Transient failures (5xx,
 * 409, network) are retried here, twice, with backoff and one idempotency key across a write's
 * attempts, so a retry of a write that did land is a replay; a 429 is not retried at once
 * (stripe-node would): it shrinks the budget, and the retry waits for the slower budget.
 * A write or delete made under the connection's lock is fenced by it (connection-lock.ts): each
 * attempt leaves only while the lease covers its timeout, else LeaseLapsedError and nothing is sent.
 */
import Stripe from 'stripe';
import { type ConnectionId, connectionKey, secretScope, type StripeMode } from '../../src/common/connection-id';
import { LeaseLapsedError, writeFence } from './connection-lock';
import { BrokerError, secretStoreFull } from './errors';
import type { Metrics } from './metrics';
import type { SecretStoreBudget } from './secret-store-budget';

/** Attempts per request: transient failures, and 429s (each retry paced by the shrunk budget). */
const ATTEMPTS = 3;
const RATE_LIMITED_ATTEMPTS = 4;
const BACKOFF_MS = 300;

/** Stripe answers 429, or a 400 with code `rate_limit` (its documents name both). */
const isRateLimited = (err: unknown) =>
  err instanceof Stripe.errors.StripeRateLimitError || (err instanceof Stripe.errors.StripeInvalidRequestError && err.code === 'rate_limit');

/** Worth another attempt: 5xx, 409, or no answer — unless Stripe said not to. */
const isRetryable = (err: unknown) =>
  (err instanceof Stripe.errors.StripeAPIError || err instanceof Stripe.errors.StripeConnectionError) &&
  (err as { headers?: Record<string, string> }).headers?.['stripe-should-retry'] !== 'false';

const isMissing = (err: unknown) => err instanceof Stripe.errors.StripeInvalidRequestError && err.statusCode === 404;

/**
 * The scope's limit of secrets. Stripe does not document the error's code; the emulator's is
 * `secret_limit_exceeded`, and a 400 that speaks of the maximum is taken to mean the same.
 */
const isScopeFull = (err: unknown) =>
  err instanceof Stripe.errors.StripeInvalidRequestError && err.statusCode === 400 && (err.code === 'secret_limit_exceeded' || /maximum/i.test(err.message));

export class SecretStoreClients {
  constructor(
    private readonly clients: Partial<Record<StripeMode, Stripe>>,
    private readonly metrics: Metrics,
    private readonly budget: SecretStoreBudget,
  ) {}

  forConnection(connection: ConnectionId): UserSecrets {
    const stripe = this.clients[connection.mode];
    if (!stripe) throw new BrokerError('mode_not_configured', `This backend has no Stripe key for ${connection.mode} mode.`);
    return new UserSecrets(stripe, connection, this.metrics, this.budget);
  }
}

export class UserSecrets {
  private readonly scope: ReturnType<typeof secretScope>;
  private readonly options: Stripe.RequestOptions;

  constructor(
    private readonly stripe: Stripe,
    private readonly connection: ConnectionId,
    private readonly metrics: Metrics,
    private readonly budget: SecretStoreBudget,
  ) {
    this.scope = secretScope(connection);
    // Retries are ours (see above), never stripe-node's.
    this.options = { stripeAccount: connection.accountId, maxNetworkRetries: 0 };
  }

  /** One request: each attempt within the budget (a change, also within its lock's fence), counted by its result. */
  private async request<T>(operation: string, send: (options: Stripe.RequestOptions) => Promise<T>, change = false): Promise<T> {
    const { mode } = this.connection;
    const fence = change ? writeFence(this.connection) : undefined;
    for (let attempt = 1, limited = 0; ; attempt++) {
      await this.budget.acquire(mode, connectionKey(this.connection));
      if (fence && !(await fence.confirm())) throw new LeaseLapsedError();
      try {
        return await this.metrics.secretStoreCall(operation, () => send(fence ? { ...this.options, timeout: fence.attemptMs } : this.options));
      } catch (err) {
        if (isRateLimited(err)) {
          this.budget.throttled(mode);
          if (++limited < RATE_LIMITED_ATTEMPTS) continue;
        } else if (isRetryable(err) && attempt - limited < ATTEMPTS) {
          const delay = BACKOFF_MS * 2 ** (attempt - limited - 1);
          await new Promise((resolve) => setTimeout(resolve, delay / 2 + Math.random() * (delay / 2)));
          continue;
        }
        throw err;
      }
    }
  }

  /** The payload, or undefined when the secret does not exist (or has expired). */
  read(name: string): Promise<string | undefined> {
    return this.request('find', async (options) => {
      try {
        const secret = await this.stripe.apps.secrets.find({ name, scope: this.scope, expand: ['payload'] }, options);
        return secret.payload ?? undefined;
      } catch (err) {
        if (isMissing(err)) return undefined;
        throw err;
      }
    });
  }

  write(name: string, payload: string, expiresAt: number | null, idempotencyKey: string): Promise<void> {
    return this.request('create', async (options) => {
      try {
        await this.stripe.apps.secrets.create({ name, payload, scope: this.scope, ...(expiresAt !== null && { expires_at: expiresAt }) }, { ...options, idempotencyKey });
      } catch (err) {
        if (isScopeFull(err)) throw secretStoreFull();
        throw err;
      }
    }, true);
  }

  /** The names of the scope's secrets (it holds at most 10, so one page). */
  async names(): Promise<string[]> {
    return this.request('list', async (options) => {
      const list = await this.stripe.apps.secrets.list({ scope: this.scope, limit: 100 }, options);
      return list.data.map((secret) => secret.name);
    });
  }

  /** Deletes the secret; one that is already gone is fine. */
  remove(name: string): Promise<void> {
    return this.request('delete', async (options) => {
      try {
        await this.stripe.apps.secrets.deleteWhere({ name, scope: this.scope }, options);
      } catch (err) {
        if (!isMissing(err)) throw err;
      }
    }, true);
  }
}
