/** The signed API routes (DESIGN.md, Backend contract). Each answers JSON for the signed connection only. */
import express, { Router, type Request, type Response } from 'express';
import type { Connection } from './connection';
import type { Connections } from './connections';
import { badRequest } from './http-error';
import type { RefreshEngine } from './refresh-engine';
import { requestBody, verifySignedRequest } from './signature';

const connectionOf = (res: Response) => res.locals.connection as Connection;

function stringField(req: Request, name: string, pattern: RegExp, what: string): string {
  const value = requestBody(req)[name];
  if (typeof value !== 'string' || !pattern.test(value)) throw badRequest(`${name} must be ${what}.`);
  return value;
}

/** https anywhere, http only on loopback (the local console). */
function redirectUri(req: Request): string {
  const value = stringField(req, 'redirect_uri', /^https?:\/\/\S{1,2040}$/, 'an http(s) URL');
  const url = URL.canParse(value) ? new URL(value) : undefined;
  if (!url || (url.protocol === 'http:' && !['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname))) {
    throw badRequest('redirect_uri must be an https URL (or http on loopback).');
  }
  return value;
}

export function apiRoutes(signingSecret: string, connections: Connections, engine: RefreshEngine): Router {
  const router = Router();
  const post = (path: string, handler: (req: Request, res: Response) => Promise<void>) =>
    router.post(path, express.json({ limit: '16kb', strict: true }), verifySignedRequest(signingSecret), handler);

  post('/api/oauth/exchange', async (req, res) => {
    const code = stringField(req, 'code', /^[\x21-\x7e]{1,2048}$/, 'the authorization code');
    // RFC 7636: 43-128 characters of [A-Za-z0-9-._~].
    const verifier = stringField(req, 'verifier', /^[A-Za-z0-9\-._~]{43,128}$/, 'the PKCE code verifier (43-128 characters)');
    res.json(await connections.exchange(connectionOf(res), code, verifier, redirectUri(req)));
  });

  post('/api/connection', async (_req, res) => {
    res.json(await connections.register(connectionOf(res)));
  });

  post('/api/token', async (_req, res) => {
    const access = await engine.accessToken(connectionOf(res));
    res.json({ access_token: access.access_token, token_type: access.token_type, expires_at: access.expires_at, scope: access.scope ?? null });
  });

  post('/api/connection/status', async (_req, res) => {
    res.json(await connections.status(connectionOf(res)));
  });

  post('/api/oauth/disconnect', async (_req, res) => {
    res.json(await connections.disconnect(connectionOf(res)));
  });

  return router;
}
