/**
 * The HTTP edge: the broker core behind Express — request logs, CORS for the extension's
 * sandboxed iframe, health and metrics, the admin API, the Stripe webhook, the signed API routes, and the one
 * place errors become answers.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { type ConnectionId, connectionKey } from '../../src/common/connection-id';
import type { BrokerCore } from '../broker/broker';
import { BrokerError, describeError } from '../broker/errors';
import { adminRoutes } from './admin';
import { bearerOnly } from './bearer';
import { errorAnswer, HttpError } from './errors';
import { loopbackHostsOnly } from './loopback-hosts';
import { apiRoutes, type RouteOptions } from './routes';
import { type StripeEventHandler, webhookRoutes } from './webhooks';

export interface HttpOptions extends RouteOptions {
  /** STRIPE_WEBHOOK_SECRET: the endpoints' secrets (test and live each have their own); any of them verifies. */
  webhookSecrets?: string[];
  /** The app's `ca_…` id: deauthorizations of other applications are ignored. */
  applicationId?: string;
  /** The template's own Stripe event handlers, by event type. */
  stripeEventHandlers?: (core: BrokerCore) => Record<string, StripeEventHandler>;
  /** How long a delivery holds the Stripe event it handles (DEFAULTS.webhookLeaseSeconds). */
  webhookLeaseSeconds?: number;
  /** Under the local stack: only requests for a loopback Host (no DNS-rebound page). */
  loopbackHostsOnly?: boolean;
  /** `GET /metrics` answers only with `Authorization: Bearer <this>`; without it there is no such route. */
  metricsToken?: string;
  /** ADMIN_TOKEN: the admin API (`/admin/…`, README) answers only with `Authorization: Bearer <this>`; without it there is none. */
  adminToken?: string;
}

export function createHttpApp(core: BrokerCore, options: HttpOptions): express.Express {
  const { logger, metrics } = core;
  const app = express();
  app.disable('x-powered-by');
  // Answers are never cached (no-store), so hashing each one for an ETag is wasted work.
  app.set('etag', false);
  app.set('trust proxy', false);
  if (options.loopbackHostsOnly) app.use(loopbackHostsOnly);

  // One line per request: method, path, status, latency and, for signed routes, the connection.
  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const connection = res.locals.connection as ConnectionId | undefined;
      logger.info({
        method: req.method,
        path: req.path,
        status: res.statusCode,
        latencyMs: Number((process.hrtime.bigint() - started) / 1_000_000n),
        ...(connection && { connection: connectionKey(connection) }),
      }, 'request');
    });
    next();
  });

  // The extension runs in a sandboxed iframe (Origin: null) and sends no cookies.
  app.use((req, res, next) => {
    res.set('Access-Control-Allow-Origin', '*');
    if (req.method !== 'OPTIONS') return next();
    res.set({
      'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
      'Access-Control-Allow-Headers': 'Content-Type, Stripe-Signature',
      'Access-Control-Max-Age': '600',
    });
    res.status(204).end();
  });

  app.get('/healthz', (_req, res) => void res.json({ ok: true }));
  if (options.metricsToken) {
    app.get('/metrics', bearerOnly(options.metricsToken, 'METRICS_TOKEN'), async (_req, res) => {
      const [outbox, events] = await Promise.all([core.storage.outbox.connections(), core.storage.events.summary()]);
      metrics.outboxDepth.set(outbox.length);
      metrics.oldestUndelivered.set(events.oldestPending === null ? 0 : Math.max(0, core.clock.now() - events.oldestPending));
      res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    });
  }
  if (options.adminToken) app.use('/admin', bearerOnly(options.adminToken, 'ADMIN_TOKEN'), adminRoutes(core));
  if (options.webhookSecrets?.length) app.use(webhookRoutes(options.webhookSecrets, core, {
    applicationId: options.applicationId,
    handlers: options.stripeEventHandlers?.(core),
    leaseSeconds: options.webhookLeaseSeconds,
  }));
  app.use(apiRoutes(options, core));

  app.use((req, _res, next) => next(new HttpError('not_found', `No route for ${req.method} ${req.path}.`)));
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const error = errorAnswer(err);
    if (error.retryAfterSeconds !== undefined) res.set('Retry-After', String(error.retryAfterSeconds));
    if (error.status >= 500 && !(err instanceof HttpError || err instanceof BrokerError)) logger.error({ path: req.path, err: describeError(err) }, 'request failed');
    res.status(error.status).json({ error: { code: error.code, message: error.message } });
  });
  return app;
}
