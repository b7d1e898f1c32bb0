/**
 * The dev provider's resource API, as a real provider's would be: JSON under `/api/` (the token
 * subject's profile and notes), each request with `Authorization: Bearer <access token>` (or an
 * API key the user made, api-keys.ts) checked against the provider's own store, errors as RFC 6750 `{"error", "error_description"}`, and
 * CORS for an extension calling it from its sandboxed iframe (Origin: null).
 */
import express, { type NextFunction, type Request, type RequestHandler, type Response, Router } from 'express';
import type Provider from 'oidc-provider';
import { API_KEY_PREFIX, type ApiKeyStore } from './api-keys';
import type { NoteStore } from './notes';
import { DEV_USERS } from './users';

const MAX_NOTE_LENGTH = 500;
/** `Bearer` and an RFC 6750 b64token. */
const BEARER = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    description: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(description);
  }
}

export const invalidToken = (description: string) =>
  new ApiError(401, 'invalid_token', description, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
const invalidRequest = (description: string) => new ApiError(400, 'invalid_request', description);

/** The subject and scopes of the request's access token; never the token itself in an answer. */
async function subjectOf(provider: Provider, keys: ApiKeyStore, authorization: string | undefined): Promise<{ sub: string; scopes: string[] }> {
  const token = BEARER.exec(authorization ?? '')?.[1];
  if (!token) throw invalidToken('Send Authorization: Bearer <access token or API key>.');
  if (token.startsWith(API_KEY_PREFIX)) {
    const sub = keys.subjectOf(token);
    if (!sub) throw invalidToken('The API key is unknown or revoked.');
    return { sub, scopes: ['profile', 'email', 'api_key'] };
  }
  // find() refuses unknown and expired tokens; revoking a refresh token deletes the grant's access tokens.
  const accessToken = await provider.AccessToken.find(token);
  if (!accessToken) throw invalidToken('The access token is unknown, expired or revoked.');
  // The checks of oidc-provider's own userinfo endpoint: a grant can end (its TTL) before its access tokens do.
  const grant = await provider.Grant.find(accessToken.grantId);
  if (!grant || grant.clientId !== accessToken.clientId || grant.accountId !== accessToken.accountId) {
    throw invalidToken('The grant of the access token has ended.');
  }
  if (!Object.hasOwn(DEV_USERS, accessToken.accountId)) throw invalidToken('The account of the access token is gone.');
  return { sub: accessToken.accountId, scopes: (accessToken.scope ?? '').split(' ') };
}

function noteText(body: unknown): string {
  const text = (body as { text?: unknown } | undefined)?.text;
  if (typeof text !== 'string' || text.length < 1 || text.length > MAX_NOTE_LENGTH) {
    throw invalidRequest(`Send a JSON object {"text": "<1 to ${MAX_NOTE_LENGTH} characters>"}.`);
  }
  return text;
}

const cors: RequestHandler = (req, res, next) => {
  res.set({
    'Access-Control-Allow-Origin': '*',
    'Access-Control-Expose-Headers': 'WWW-Authenticate, Retry-After',
    'Cache-Control': 'no-store',
  });
  if (req.method !== 'OPTIONS') return next();
  res.set({
    'Access-Control-Allow-Methods': 'GET, POST, DELETE',
    'Access-Control-Allow-Headers': 'Authorization, Content-Type',
    'Access-Control-Max-Age': '600',
  });
  res.status(204).end();
};

/** Ours as they are, a body parser's as 413 or 400, anything else as a 500 (logged). */
function asApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const parser = err as { type?: string; status?: number };
  if (parser.type === 'entity.too.large') return new ApiError(413, 'request_too_large', 'The body is larger than 16 KB.');
  if (typeof parser.status === 'number' && parser.status < 500) return invalidRequest('The body is not valid JSON.');
  console.error('dev provider API failed:', err);
  return new ApiError(500, 'server_error', 'The dev provider API failed.');
}

function answerError(err: unknown, _req: Request, res: Response, _next: NextFunction): void {
  const error = asApiError(err);
  res.status(error.status).set(error.headers).json({ error: error.code, error_description: error.message });
}

const subject = (res: Response) => res.locals.sub as string;

/** `before` runs first on each route (the test controls' counts and faults), then the token check. */
export function apiRoutes(provider: Provider, notes: NoteStore, keys: ApiKeyStore, before: RequestHandler[] = []): Router {
  const authorized: RequestHandler = async (req, res, next) => {
    ({ sub: res.locals.sub, scopes: res.locals.scopes } = await subjectOf(provider, keys, req.get('authorization')));
    next();
  };
  const guard = [...before, authorized];

  const router = Router();
  router.use('/api', cors);
  // As the userinfo endpoint: the name with `profile`, the e-mail address with `email`.
  router.get('/api/me', ...guard, (_req, res) => {
    const { name, email } = DEV_USERS[subject(res)];
    const scopes = res.locals.scopes as string[];
    res.json({ sub: subject(res), ...(scopes.includes('profile') && { name }), ...(scopes.includes('email') && { email }) });
  });
  router.get('/api/notes', ...guard, (_req, res) => void res.json({ data: notes.list(subject(res)) }));
  // The body is read only once the token is good.
  router.post('/api/notes', ...guard, express.json({ limit: '16kb' }), (req, res) => {
    res.status(201).json(notes.add(subject(res), noteText(req.body)));
  });
  router.delete('/api/notes/:id', ...guard, (req: Request<{ id: string }>, res: Response) => {
    if (!notes.remove(subject(res), req.params.id)) throw new ApiError(404, 'not_found', 'There is no such note.');
    res.status(204).end();
  });
  // A new API key for the signed-in user (made with an access token, not with another key).
  router.post('/api/keys', ...guard, (_req, res) => {
    if ((res.locals.scopes as string[]).includes('api_key')) throw new ApiError(403, 'insufficient_scope', 'Make API keys with an access token.');
    res.status(201).json({ api_key: keys.issue(subject(res)) });
  });
  // The key the request is made with, revoked.
  router.delete('/api/keys', ...guard, (req, res) => {
    if (!(res.locals.scopes as string[]).includes('api_key')) throw invalidRequest('Revoke an API key with the key itself.');
    keys.revoke(BEARER.exec(req.get('authorization')!)![1]);
    res.status(204).end();
  });
  router.use('/api', () => {
    throw new ApiError(404, 'not_found', 'There is no such API route.');
  });
  router.use('/api', answerError);
  return router;
}
