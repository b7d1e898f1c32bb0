/**
 * Secret Store access confined to one connection: the mode's key, `stripeAccount` of the
 * account, and the user scope of the user — the backend never touches another scope.
 * Transient failures (5xx, 409, network) are retried by stripe-node itself
 * (`maxNetworkRetries`), with one idempotency key across a write's attempts, so a retry of a
 * write that did land is a replay.
 */
import Stripe from 'stripe';
import type { ConnectionId, StripeMode } from '../../src/shared/connection-id';
import { BrokerError } from './errors';
import type { Metrics } from './metrics';

const isMissing = (err: unknown) => err instanceof Stripe.errors.StripeInvalidRequestError && err.statusCode === 404;

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
  private readonly scope: { type: 'user'; user: string };
  private readonly options: Stripe.RequestOptions;

  constructor(
    private readonly stripe: Stripe,
    connection: ConnectionId,
    private readonly metrics: Metrics,
  ) {
    this.scope = { type: 'user', user: connection.userId };
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
      await this.stripe.apps.secrets.create(
        { name, payload, scope: this.scope, ...(expiresAt !== null && { expires_at: expiresAt }) },
        { ...this.options, idempotencyKey },
      );
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
