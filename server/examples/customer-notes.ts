/**
 * An example of using a connection from the template's own server code: when a customer is
 * created in an account (Stripe's `customer.created` event), it is noted at the provider — a
 * POST to the provider's API through the same path as `/api/proxy`: a 401 is answered with one
 * refresh, a lost grant is skipped. The dev provider of `npm start` has a `/notes` endpoint for
 * it; for your provider, call what your integration needs.
 *
 * Which connections note it (each customer once per provider, never once per path to it): with
 * an API-key provider, the account's key for the first one (`notes` under `npm start`: one key
 * per account, so one note) and no OAuth connection, since under `npm start` both reach the same
 * API; without one, each of the account's OAuth connections (with account-wide connections, the
 * account's one).
 *
 * Wire it as a handler of the backend (`stripeEventHandlers` in server/backend.ts does for
 * `npm start`), and subscribe your webhook endpoint to `customer.created`.
 */
import type Stripe from 'stripe';
import type { ConnectionId } from '../../src/common/connection-id';
import type { BrokerCore } from '../broker/broker';
import { BrokerError } from '../broker/errors';
import type { StripeEventHandler } from '../http/webhooks';

export function customerNotes(core: BrokerCore): Record<string, StripeEventHandler> {
  return {
    'customer.created': async (event) => {
      if (!event.account) return;
      const customer = event.data.object as Stripe.Customer;
      const mode = event.livemode ? 'live' : 'test';
      const keyed = core.providers.all.find((provider) => provider.kind === 'api_key');
      // A connection of a provider no longer configured is no one's to use.
      const kindOf = (connection: ConnectionId) => core.providers.all.find((p) => (p.name ?? '') === (connection.provider ?? ''))?.kind;
      const noting = (connection: ConnectionId) => (keyed ? connection.provider === keyed.name : kindOf(connection) === 'oauth');
      for (const connection of await core.lifecycle.connectionsOf(event.account, mode)) {
        if (connection.status !== 'connected' || !noting(connection)) continue;
        try {
          const answer = await core.api.call(connection, { method: 'POST', path: '/notes', body: { text: `New Stripe customer ${customer.id}${customer.name ? ` (${customer.name})` : ''}` } });
          core.logger.info({ event: event.id, status: answer.status }, 'customer noted at the provider');
        } catch (err) {
          if (!(err instanceof BrokerError)) throw err;
          core.logger.warn({ event: event.id, err: err.code }, 'customer not noted at the provider');
        }
      }
    },
  };
}
