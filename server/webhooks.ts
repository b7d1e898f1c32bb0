/**
 * `POST /webhooks/stripe`: Stripe events, verified on the raw body with the webhook secret.
 * `account.application.deauthorized` (the app was uninstalled) forgets that account's
 * connections; a duplicate delivery finds nothing left to forget, which is fine.
 */
import express, { Router } from 'express';
import Stripe from 'stripe';
import { HttpError } from './http-error';
import type { Logger } from './logger';
import type { ConnectionRegistry } from './registry';

export function webhookRoutes(webhookSecret: string, registry: ConnectionRegistry, logger: Logger): Router {
  const router = Router();
  router.post('/webhooks/stripe', express.raw({ type: () => true, limit: '512kb' }), async (req, res) => {
    const signature = req.get('stripe-signature');
    let event: Stripe.Event;
    try {
      if (!signature || !Buffer.isBuffer(req.body)) throw new Error('unsigned');
      event = Stripe.webhooks.constructEvent(req.body, signature, webhookSecret);
    } catch {
      throw new HttpError(400, 'invalid_webhook_signature', 'The webhook signature does not verify.');
    }
    if (event.type === 'account.application.deauthorized' && event.account) {
      const forgotten = await registry.removeAccount(event.account);
      logger.info({ event: event.id, type: event.type, account: event.account, forgotten }, 'webhook');
    } else {
      logger.info({ event: event.id, type: event.type }, 'webhook ignored');
    }
    res.json({ received: true });
  });
  return router;
}
