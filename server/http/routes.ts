/**
 * The signed API routes (README, The backend). Each answers JSON for the signed connection only,
 * takes only the parameters it declares, and counts against its limits per user and per account
 * (limits.ts; shared by every instance with PostgreSQL).
 */
import express, { Router, type Request, type Response } from 'express';
import type { ConnectionScope } from '../../src/common/connection-id';
import { isLoopbackUrl } from '../../src/common/loopback';
import { dashboardRedirectUri } from '../../src/common/redirect-uri';
import type { SignedOrder } from '../../src/common/signed-request';
import type { BrokerCore } from '../broker/broker';
import { API_METHODS, type ApiMethod } from '../broker/provider-api';
import type { RouteLimit } from '../broker/defaults';
import { badRequest, HttpError } from './errors';
import type { ParamSpec } from './params';
import { admitted } from './limits';
import { requestBody, signedBody, signedConnection, signedRequests } from './signature';

export type RouteName = 'exchange' | 'register' | 'token' | 'status' | 'disconnect' | 'proxy' | 'credentials';

export interface RouteOptions {
  appSigningSecret: string;
  /** STRIPE_SIGNATURE_ORDER: only this order verifies. */
  signatureOrder?: SignedOrder;
  /** STRIPE_APP_ID: the only redirect URIs are the Dashboard's return URLs for this app. */
  appId: string;
  /** Only the local stack, whose console is its own return URL on loopback. */
  allowLoopbackRedirects: boolean;
  limits: Record<RouteName, RouteLimit>;
  /** The largest `/api/proxy` body (the request to the provider's API with it). */
  maxProxyRequestBytes: number;
  /** Whose connection a signed request acts on: the signer's own, or their account's. */
  connectionScope: ConnectionScope;
}

function stringField(req: Request, name: string, pattern: RegExp, what: string): string {
  const value = requestBody(req)[name];
  if (typeof value !== 'string' || !pattern.test(value)) throw badRequest(`${name} must be ${what}.`);
  return value;
}

export function apiRoutes(options: RouteOptions, core: BrokerCore): Router {
  const { lifecycle, engine, api, logger, providers } = core;
  const router = Router();
  const parseJson = express.json({ limit: '16kb', strict: true });
  const signed = signedRequests({ appSigningSecret: options.appSigningSecret, order: options.signatureOrder, logger, clock: core.clock, connectionScope: options.connectionScope, providers });

  // The signature, then the limits, then the nonce: whoever cannot sign learns nothing, and a refused request writes nothing.
  const post = (path: string, route: RouteName, spec: ParamSpec, handler: (req: Request, res: Response) => Promise<void>, parser = parseJson) =>
    router.post(path, signedBody(parser), signed(spec), admitted(core.storage, route, options.limits[route]), handler);

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

  post('/api/oauth/exchange', 'exchange', { code: 'string', verifier: 'string', redirect_uri: 'string' }, async (req, res) => {
    const code = stringField(req, 'code', /^[\x21-\x7e]{1,2048}$/, 'the authorization code');
    // RFC 7636: 43-128 characters of [A-Za-z0-9-._~].
    const verifier = stringField(req, 'verifier', /^[A-Za-z0-9\-._~]{43,128}$/, 'the PKCE code verifier (43-128 characters)');
    res.json(await lifecycle.exchange(signedConnection(res), code, verifier, redirectUri(req, res)));
  });

  post('/api/connection', 'register', {}, async (_req, res) => {
    // Extension exchange mode (the extension stores unsealed tokens) is for public clients only.
    const provider = providers.oauth(signedConnection(res));
    if (provider.oauth.hasClientSecret) {
      throw new HttpError('extension_exchange_disabled', 'This backend has a client secret: codes are exchanged by the backend (EXCHANGE_MODE "backend").');
    }
    res.json(await lifecycle.register(signedConnection(res)));
  });

  // An API-key provider's key, for the signer's account (api-keys.ts): verified, then saved; never answered back.
  post('/api/credentials', 'credentials', { api_key: 'string' }, async (req, res) => {
    const key = stringField(req, 'api_key', /^[\x21-\x7e]{8,2048}$/, 'the API key (8-2048 printable characters, no spaces)');
    res.json(await lifecycle.saveKey(signedConnection(res), key));
  });

  post('/api/token', 'token', {}, async (_req, res) => {
    const access = await engine.accessToken(signedConnection(res));
    res.json({ access_token: access.access_token, token_type: access.token_type, expires_at: access.expires_at, scope: access.scope ?? null });
  });

  post('/api/connection/status', 'status', {}, async (_req, res) => {
    res.json(await lifecycle.status(signedConnection(res)));
  });

  post('/api/oauth/disconnect', 'disconnect', {}, async (_req, res) => {
    res.json(await lifecycle.disconnect(signedConnection(res)));
  });

  // The provider's API as the signed connection (README, Using a connection).
  const proxySpec: ParamSpec = { method: 'string', path: 'string', query: 'strings', headers: 'strings', body: 'json', base: 'string' };
  post('/api/proxy', 'proxy', proxySpec, async (req, res) => {
    const params = requestBody(req);
    const method = String(params.method ?? '').toUpperCase();
    if (!API_METHODS.includes(method as ApiMethod)) throw badRequest(`method must be one of ${API_METHODS.join(', ')}.`);
    if (typeof params.path !== 'string') throw badRequest('path must be a path under the API base, starting with /.');
    if (params.body !== undefined && (method === 'GET' || method === 'DELETE')) throw badRequest(`A ${method} request takes no body.`);
    const answer = await api.call(signedConnection(res), {
      method: method as ApiMethod,
      path: params.path,
      query: params.query as Record<string, string> | undefined,
      headers: params.headers as Record<string, string> | undefined,
      body: params.body,
      base: params.base as string | undefined,
    });
    res.json(answer);
  }, express.json({ limit: options.maxProxyRequestBytes, strict: true }));

  return router;
}
