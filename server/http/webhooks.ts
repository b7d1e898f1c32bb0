/**
 * `POST /webhooks/stripe`: Stripe events, verified on the raw body with any of the webhook
 * secrets (one per endpoint: test and live endpoints have their own).
 * `account.application.deauthorized` (the app was uninstalled) disconnects that account's
 * connections in the event's own mode — a test-mode uninstall leaves live connections alone;
 * with STRIPE_APPLICATION_ID set, only this application's deauthorization counts (an endpoint
 * that listens for several apps' events gets the others' too). The template's own handlers
 * (`handlers`, e.g. server/examples/customer-notes.ts) take the types they name. Each event id
 * is handled once: Stripe may deliver an event more than once, copies even at the same moment, so
 * a delivery claims the event before its handler runs. Another delivery meanwhile gets a 409 (Stripe
 * retries it); a failed handler gives the claim up at once, a crashed one when its lease lapses,
 * and Stripe's next delivery handles the event.
 */
import express, { Router } from 'express';
import { randomUUID } from 'node:crypto';
import Stripe from 'stripe';
import type { BrokerCore } from '../broker/broker';
import { DEFAULTS } from '../broker/defaults';
import { HttpError } from './errors';

/** A handler of one type of Stripe event, for the template's own server code. */
export type StripeEventHandler = (event: Stripe.Event) => Promise<void>;

/** The deauthorized application: the event's object (an `application`, `ca_…`). */
const applicationOf = (event: Stripe.Event) => (event.data?.object as { id?: unknown } | undefined)?.id;

export interface WebhookOptions {
  applicationId?: string;
  handlers?: Record<string, StripeEventHandler>;
  /** How long a delivery holds an event it handles: after a crash, how long until another may. */
  leaseSeconds?: number;
}

export function webhookRoutes(webhookSecrets: string[], core: BrokerCore, options: WebhookOptions = {}): Router {
  const { lifecycle, logger } = core;
  const { webhookEvents } = core.storage;
  const handlers: Record<string, StripeEventHandler> = {
    ...options.handlers,
    'account.application.deauthorized': async (event) => {
      if (!event.account) return;
      if (options.applicationId && applicationOf(event) !== options.applicationId) {
        logger.info({ event: event.id, type: event.type }, 'webhook ignored: another application was deauthorized');
        return;
      }
      const mode = event.livemode ? 'live' : 'test';
      const disconnected = await lifecycle.disconnectAccount(event.account, mode);
      logger.info({ event: event.id, type: event.type, account: event.account, mode, disconnected }, 'webhook');
    },
  };
  const router = Router();
  router.post('/webhooks/stripe', express.raw({ type: () => true, limit: '512kb' }), async (req, res) => {
    const signature = req.get('stripe-signature');
    let event: Stripe.Event;
    try {
      if (!signature || !Buffer.isBuffer(req.body)) throw new Error('unsigned');
      event = verifiedEvent(req.body, signature, webhookSecrets);
    } catch {
      throw new HttpError('invalid_webhook_signature', 'The webhook signature does not verify.');
    }
    const handler = Object.hasOwn(handlers, event.type) ? handlers[event.type] : undefined;
    if (!handler) {
      logger.info({ event: event.id, type: event.type }, 'webhook ignored');
      return void res.json({ received: true });
    }
    const owner = randomUUID();
    const claim = await webhookEvents.claim(event.id, owner, options.leaseSeconds ?? DEFAULTS.webhookLeaseSeconds);
    if (claim === 'in_progress') throw new HttpError('event_in_progress', 'Another delivery of this event is being handled; deliver it again later.');
    if (claim === 'handled') {
      logger.info({ event: event.id, type: event.type }, 'webhook already handled');
    } else {
      try {
        await handler(event);
      } catch (err) {
        // Should even this fail, the lease lapses instead.
        await webhookEvents.release(event.id, owner).catch(() => undefined);
        throw err;
      }
      await webhookEvents.handled(event.id);
    }
    res.json({ received: true });
  });
  return router;
}

/** The event, if any of the endpoints' secrets verifies it. */
function verifiedEvent(body: Buffer, signature: string, secrets: string[]): Stripe.Event {
  for (const secret of secrets) {
    try {
      return Stripe.webhooks.constructEvent(body, signature, secret);
    } catch {
      // Another endpoint's secret may verify it.
    }
  }
  throw new Error('no secret verifies');
}
