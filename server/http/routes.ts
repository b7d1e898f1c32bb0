/** The signed API routes (README, The backend). Each answers JSON for the signed connection only. */
import express, { Router, type Request, type Response } from 'express';
import { isLoopbackUrl } from '../../src/shared/loopback';
import { dashboardRedirectUri } from '../../src/shared/redirect-uri';
import type { BrokerCore } from '../broker/broker';
import { badRequest, HttpError } from './errors';
import { RateLimiter } from './rate-limit';
import { requestBody, signedConnection, verifySignedRequest } from './signature';

export interface RouteOptions {
  appSigningSecret: string;
  /** STRIPE_APP_ID: the only redirect URIs are the Dashboard's return URLs for this app. */
  appId: string;
  /** Only the local stack, whose console is its own return URL on loopback. */
  allowLoopbackRedirects: boolean;
  /** Extension exchange mode (`POST /api/connection`) is for public clients only. */
  extensionExchange: boolean;
  exchangeLimit: { max: number; windowMs: number };
}

function stringField(req: Request, name: string, pattern: RegExp, what: string): string {
  const value = requestBody(req)[name];
  if (typeof value !== 'string' || !pattern.test(value)) throw badRequest(`${name} must be ${what}.`);
  return value;
}

export function apiRoutes(options: RouteOptions, core: BrokerCore): Router {
  const { lifecycle, engine, logger } = core;
  const router = Router();
  const exchangeLimiter = new RateLimiter(options.exchangeLimit.max, options.exchangeLimit.windowMs);
  const parseJson = express.json({ limit: '16kb', strict: true });
  const verify = verifySignedRequest(options.appSigningSecret, logger, core.clock);
  const post = (path: string, handler: (req: Request, res: Response) => Promise<void>) => router.post(path, parseJson, verify, handler);

  // Answers carry tokens or what is known about them: never cached anywhere.
  router.use('/api', (_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    next();
  });

  /** The Dashboard's return URL for this app in the request's mode; http loopback only for the local stack. */
  const redirectUri = (req: Request, res: Response): string => {
    const value = stringField(req, 'redirect_uri', /^https?:\/\/\S{1,2040}$/, 'an http(s) URL');
    if (value === dashboardRedirectUri(options.appId, signedConnection(res).mode)) return value;
    if (options.allowLoopbackRedirects && URL.canParse(value) && isLoopbackUrl(new URL(value))) return value;
    throw badRequest(`redirect_uri must be the Dashboard's OAuth return URL for this app in ${signedConnection(res).mode} mode.`);
  };

  post('/api/oauth/exchange', async (req, res) => {
    const connection = signedConnection(res);
    const retryAfter = exchangeLimiter.take(connection);
    if (retryAfter > 0) {
      res.set('Retry-After', String(retryAfter));
      throw new HttpError('rate_limited', `Too many sign-in attempts for this connection; try again in ${retryAfter} s.`);
    }
    const code = stringField(req, 'code', /^[\x21-\x7e]{1,2048}$/, 'the authorization code');
    // RFC 7636: 43-128 characters of [A-Za-z0-9-._~].
    const verifier = stringField(req, 'verifier', /^[A-Za-z0-9\-._~]{43,128}$/, 'the PKCE code verifier (43-128 characters)');
    res.json(await lifecycle.exchange(connection, code, verifier, redirectUri(req, res)));
  });

  post('/api/connection', async (_req, res) => {
    if (!options.extensionExchange) {
      throw new HttpError('extension_exchange_disabled', 'This backend has a client secret: codes are exchanged by the backend (EXCHANGE_MODE "backend").');
    }
    res.json(await lifecycle.register(signedConnection(res)));
  });

  post('/api/token', async (_req, res) => {
    const access = await engine.accessToken(signedConnection(res));
    res.json({ access_token: access.access_token, token_type: access.token_type, expires_at: access.expires_at, scope: access.scope ?? null });
  });

  post('/api/connection/status', async (_req, res) => {
    res.json(await lifecycle.status(signedConnection(res)));
  });

  post('/api/oauth/disconnect', async (_req, res) => {
    res.json(await lifecycle.disconnect(signedConnection(res)));
  });

  return router;
}
