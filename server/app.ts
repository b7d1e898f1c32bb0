/**
 * The broker backend as an Express app, built from its parts so tests can mount it without
 * listening and main.ts can wire it from configuration.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { timingSafeEqual } from 'node:crypto';
import type Stripe from 'stripe';
import type { StripeMode } from '../src/shared/redirect-uri';
import { AccessCache } from './broker/access-cache';
import { TokenTooLargeError } from '../src/shared/token-layout';
import { type ConnectionId, connectionKey } from '../src/shared/connection-id';
import { Connections } from './broker/lifecycle';
import { HttpError, secretStoreUnavailable } from './broker/errors';
import { InProcessLocks, type LockManager } from './storage/locks';
import { type BackgroundOptions, startBackground } from './broker/background';
import type { Logger } from './logger';
import { Metrics } from './broker/metrics';
import type { OAuthClient } from './broker/oauth-client';
import { DEFAULT_REFRESH_OPTIONS, RefreshEngine, type RefreshOptions } from './broker/refresh-engine';
import type { ConnectionRegistry } from './storage/ports';
import { apiRoutes } from './http/routes';
import { describeError, TokenStore } from './broker/token-store';
import type { TokenSealer } from './broker/token-sealing';
import { isTransientStripeError, SecretStoreClients } from './broker/secret-store';
import { webhookRoutes } from './http/webhooks';

export interface BrokerOptions {
  appSigningSecret: string;
  webhookSecret?: string;
  /** STRIPE_APP_ID: the redirect URIs allowed are the Dashboard's return URLs for it. */
  appId: string;
  /** Only the local stack: its console's return URL is on loopback. */
  allowLoopbackRedirects?: boolean;
  sealer: TokenSealer;
  /** Code exchanges per connection and window (default 10 a minute). */
  exchangeLimit?: { max: number; windowMs: number };
  oauth: OAuthClient;
  /** The backend's `stripe` clients per mode (stripe-client.ts). */
  stripe: Partial<Record<StripeMode, Stripe>>;
  registry: ConnectionRegistry;
  logger: Logger;
  /** In-process locks unless given (PostgreSQL's, for several instances). */
  locks?: LockManager;
  refresh: Pick<RefreshOptions, 'marginSeconds' | 'defaultAccessLifetimeSeconds'> & Partial<RefreshOptions>;
  background?: Partial<Omit<BackgroundOptions, 'lock' | 'now'>>;
  /** Warm access tokens kept in memory (default 10,000; 0 turns the cache off). */
  cacheEntries?: number;
  /** `GET /metrics` answers only with `Authorization: Bearer <this>`; without it there is no such route. */
  metricsToken?: string;
}

export interface Broker {
  app: express.Express;
  engine: RefreshEngine;
  tokens: TokenStore;
  cache: AccessCache;
  metrics: Metrics;
  /** Stops the background loops and closes the registry. */
  close(): Promise<void>;
}

/** Body-parser failures carry a 4xx `status` and a `type`; they become JSON errors like any other. */
function errorResponse(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (isTransientStripeError(err)) return secretStoreUnavailable();
  if (err instanceof TokenTooLargeError) return new HttpError('token_too_large', err.message);
  const parserError = err as { status?: number; type?: string };
  if (parserError.type === 'entity.parse.failed') return new HttpError('invalid_json', 'The body is not valid JSON.');
  if (parserError.type === 'entity.too.large') return new HttpError('body_too_large', 'The body is too large.');
  if (typeof parserError.status === 'number' && parserError.status >= 400 && parserError.status < 500) {
    return new HttpError('invalid_request', 'The request body could not be read.');
  }
  return new HttpError('internal_error', 'Something went wrong in the broker.');
}

export function createBroker(options: BrokerOptions): Broker {
  const { logger, registry } = options;
  const refreshOptions: RefreshOptions = { ...DEFAULT_REFRESH_OPTIONS, ...options.refresh };
  const locks = options.locks ?? new InProcessLocks();
  const metrics = new Metrics();
  const cache = new AccessCache(options.cacheEntries ?? 10_000);
  registry.onChange((key) => cache.invalidate(key));
  const secrets = new SecretStoreClients(options.stripe, metrics);
  const tokens = new TokenStore(secrets, registry, options.sealer, !options.oauth.hasClientSecret, cache, logger);
  const engine = new RefreshEngine(tokens, options.oauth, locks, registry, cache, metrics, logger, refreshOptions);
  const connections = new Connections(tokens, options.oauth, locks, registry, metrics, logger, refreshOptions);
  const background = startBackground(registry, tokens, engine, locks, logger, {
    flushIntervalMs: 1000,
    keepAliveIdleSeconds: 86_400,
    keepAliveIntervalMs: 60_000,
    ...options.background,
    lock: refreshOptions.lock,
    now: refreshOptions.now,
  });

  const app = express();
  app.disable('x-powered-by');
  // Answers are never cached (no-store), so hashing each one for an ETag is wasted work.
  app.set('etag', false);
  app.set('trust proxy', false);

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
    const expected = Buffer.from(`Bearer ${options.metricsToken}`);
    app.get('/metrics', async (req, res) => {
      const given = Buffer.from(req.get('authorization') ?? '');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new HttpError('unauthorized', 'GET /metrics needs Authorization: Bearer <METRICS_TOKEN>.');
      metrics.outboxDepth.set((await registry.outboxConnections()).length);
      res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    });
  }
  if (options.webhookSecret) app.use(webhookRoutes(options.webhookSecret, connections, registry, logger));
  app.use(apiRoutes({
    signingSecret: options.appSigningSecret,
    appId: options.appId,
    allowLoopbackRedirects: options.allowLoopbackRedirects ?? false,
    extensionExchange: !options.oauth.hasClientSecret,
    exchangeLimit: options.exchangeLimit ?? { max: 10, windowMs: 60_000 },
  }, connections, engine, logger));

  app.use((req, _res, next) => next(new HttpError('not_found', `No route for ${req.method} ${req.path}.`)));
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const error = errorResponse(err);
    if (error.status >= 500 && !(err instanceof HttpError)) logger.error({ path: req.path, err: describeError(err) }, 'request failed');
    res.status(error.status).json({ error: { code: error.code, message: error.message } });
  });

  return {
    app,
    engine,
    tokens,
    cache,
    metrics,
    close: async () => {
      await background.stop();
      await registry.close();
    },
  };
}
