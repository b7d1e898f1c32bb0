/**
 * Secret Store access confined to one connection: the mode's key, `stripeAccount` of the
 * account, and the connection's scope (the user's, or the account's for an account-wide
 * connection) — the backend never touches another scope.
 * Transient failures (5xx, 409, network) are retried by stripe-node itself
 * (`maxNetworkRetries`), with one idempotency key across a write's attempts, so a retry of a
 * write that did land is a replay.
 */
import Stripe from 'stripe';
import type { ConnectionId, StripeMode } from '../../src/shared/connection-id';
import { BrokerError, secretStoreFull } from './errors';
import type { Metrics } from './metrics';

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
  ) {}

  forConnection(connection: ConnectionId): UserSecrets {
    const stripe = this.clients[connection.mode];
    if (!stripe) throw new BrokerError('mode_not_configured', `This backend has no Stripe key for ${connection.mode} mode.`);
    return new UserSecrets(stripe, connection, this.metrics);
  }
}

export class UserSecrets {
  private readonly scope: { type: 'user'; user: string } | { type: 'account' };
  private readonly options: Stripe.RequestOptions;

  constructor(
    private readonly stripe: Stripe,
    connection: ConnectionId,
    private readonly metrics: Metrics,
  ) {
    this.scope = connection.userId === null ? { type: 'account' } : { type: 'user', user: connection.userId };
    this.options = { stripeAccount: connection.accountId };
  }

  /** The payload, or undefined when the secret does not exist (or has expired). */
  read(name: string): Promise<string | undefined> {
    return this.metrics.secretStoreCall('find', async () => {
      try {
        const secret = await this.stripe.apps.secrets.find({ name, scope: this.scope, expand: ['payload'] }, this.options);
        return secret.payload ?? undefined;
      } catch (err) {
        if (isMissing(err)) return undefined;
        throw err;
      }
    });
  }

  write(name: string, payload: string, expiresAt: number | null, idempotencyKey: string): Promise<void> {
    return this.metrics.secretStoreCall('create', async () => {
      try {
        await this.stripe.apps.secrets.create(
          { name, payload, scope: this.scope, ...(expiresAt !== null && { expires_at: expiresAt }) },
          { ...this.options, idempotencyKey },
        );
      } catch (err) {
        if (isScopeFull(err)) throw secretStoreFull();
        throw err;
      }
    });
  }

  /** The names of the scope's secrets (it holds at most 10, so one page). */
  async names(): Promise<string[]> {
    return this.metrics.secretStoreCall('list', async () => {
      const list = await this.stripe.apps.secrets.list({ scope: this.scope, limit: 100 }, this.options);
      return list.data.map((secret) => secret.name);
    });
  }

  /** Deletes the secret; one that is already gone is fine. */
  remove(name: string): Promise<void> {
    return this.metrics.secretStoreCall('delete', async () => {
      try {
        await this.stripe.apps.secrets.deleteWhere({ name, scope: this.scope }, this.options);
      } catch (err) {
        if (!isMissing(err)) throw err;
      }
    });
  }
}
