/**
 * Signed requests from the extension (src/common/signed-request.ts says what is signed). Stripe
 * documents the signed string as `JSON.stringify({...claims, user_id, account_id})`, the
 * additional keys first; its server code is not public, so the other plausible order,
 * `{user_id, account_id, ...claims}`, verifies too — nothing else does — unless
 * STRIPE_SIGNATURE_ORDER pins the one a real install logged. The first verified request logs
 * which order this install's Dashboard used. A request that passes acts only for that user, on
 * that account, in that mode, on that route, with those parameters — and only once: its nonce
 * is remembered for as long as the signature could be replayed.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import Stripe from 'stripe';
import { ACCOUNT_ID, type ConnectionId, connectionKey, connectionOf, type ConnectionScope, type DashboardUserId, type StripeMode, USER_ID } from '../../src/common/connection-id';
import { signatureClaims, type SignatureClaims, type SignedOrder } from '../../src/common/signed-request';
import type { Providers } from '../broker/providers';
import type { OnceOnly } from '../storage/ports';
import { badRequest, HttpError } from './errors';
import { checkParams, type ParamSpec } from './params';

/** stripe-node's webhook tolerance: how old a signature may be. */
const MAX_AGE_SECONDS = 300;
/** stripe-node accepts any future timestamp; a clock more than this far ahead is refused. */
const MAX_FUTURE_SECONDS = 60;

/** Unix seconds: ten digits until the year 2286. */
const TIMESTAMP = /^t=(\d{1,10})$/;

const sha256Hex = (text: string) => createHash('sha256').update(text).digest('hex');

/** The two strings a signature may be over, documented order first. */
function signedStrings(ids: { user_id: string; account_id: string }, claims: SignatureClaims): Array<[SignedOrder, string]> {
  const { user_id, account_id } = ids;
  return [
    ['claims_first', JSON.stringify({ ...claims, user_id, account_id })],
    ['ids_first', JSON.stringify({ user_id, account_id, ...claims })],
  ];
}

export function requestBody(req: Request): Record<string, unknown> {
  const body: unknown = req.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('The body must be a JSON object.');
  return body as Record<string, unknown>;
}

const invalidSignature = (why: string) => new HttpError('invalid_signature', why);

/** The one `t=` of a Stripe-Signature header, as Stripe writes it; anything else is refused. */
function signedAt(header: string): number {
  const timestamps = header.split(',').filter((part) => part.startsWith('t='));
  const match = timestamps.length === 1 ? TIMESTAMP.exec(timestamps[0]) : null;
  if (!match) throw invalidSignature('The Stripe-Signature header must carry one timestamp (t=<unix seconds>).');
  return Number(match[1]);
}

export interface SignatureOptions {
  appSigningSecret: string;
  /** Only this order verifies, once a real install showed which one Stripe uses. */
  order?: SignedOrder;
  logger: Logger;
  /** The fleet's clock (server/broker/clock.ts): a machine whose own clock is off still accepts Stripe's timestamps. */
  clock: { nowMs(): number };
  /** Whose connection a signed request acts on: the signer's own, or their account's (an API key's is always the account's). */
  connectionScope: ConnectionScope;
  /** The provider a request's `provider` parameter names (providers.ts). */
  providers: Providers;
}

/** What a verified request carries, for the limits and the nonce claim after it. */
export interface Verified {
  signer: DashboardUserId;
  /** The named provider the request is for (none: the unnamed one). */
  provider?: string;
  nonce: string;
  /** The signature's timestamp (unix seconds). */
  signedAt: number;
  /** Unix seconds until which the signature could pass again (how long its nonce is kept). */
  validUntil: number;
}

const UNVERIFIED = 'The Stripe-Signature header does not verify for this user, account, mode, route and parameters.';

/**
 * Middleware for one signed route whose parameters (besides the ids and the nonce) are `spec`.
 * The signature first: a request without one that verifies is a 401 whatever its body, so
 * nothing about the parameters is told to whoever cannot sign. Then the ids and parameters
 * (400). The nonce is claimed later (`claimNonce`), once the limits have let the request through.
 */
export function signedRequests(options: SignatureOptions) {
  let orderLogged = false;
  return (spec: ParamSpec) => async (req: Request, res: Response, next: NextFunction) => {
    const header = req.get('stripe-signature');
    if (!header) throw invalidSignature('The Stripe-Signature header is missing.');
    const timestamp = signedAt(header);
    const receivedAt = options.clock.nowMs();
    if (timestamp > receivedAt / 1000 + MAX_FUTURE_SECONDS) throw invalidSignature('The Stripe-Signature timestamp is in the future.');

    const body: unknown = req.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalidSignature(UNVERIFIED);
    const { user_id, account_id, mode, ...params } = body as Record<string, unknown>;
    if (typeof user_id !== 'string' || typeof account_id !== 'string' || typeof mode !== 'string') throw invalidSignature(UNVERIFIED);
    const payloads = await signedPayloads({ user_id, account_id }, mode, req.baseUrl + req.path, params);
    const order = payloads.find(([candidate, payload]) => {
      if (options.order && candidate !== options.order) return false;
      try {
        return Stripe.webhooks.signature!.verifyHeader(payload, header, options.appSigningSecret, MAX_AGE_SECONDS, undefined, receivedAt);
      } catch {
        return false;
      }
    })?.[0];
    if (!order) throw invalidSignature(UNVERIFIED);

    // Signed: what was signed must still be well-formed.
    if (!USER_ID.test(user_id)) throw badRequest('user_id must be a Dashboard user id.');
    if (!ACCOUNT_ID.test(account_id)) throw badRequest('account_id must be an account id (acct_…).');
    if (mode !== 'test' && mode !== 'live') throw badRequest("mode must be 'test' or 'live'.");
    const { provider: named, ...rest } = params;
    const nonce = checkParams(rest, spec);
    const provider = options.providers.named(named);
    if (!orderLogged) {
      orderLogged = true;
      options.logger.info({ order }, `signed requests verify with ${order === 'claims_first' ? '{...claims, user_id, account_id} (as documented)' : '{user_id, account_id, ...claims}'}`);
    }
    const signer: DashboardUserId = { accountId: account_id, userId: user_id, mode };
    const verified: Verified = { signer, provider: provider.name, nonce, signedAt: timestamp, validUntil: timestamp + MAX_AGE_SECONDS + MAX_FUTURE_SECONDS };
    res.locals.verified = verified;
    res.locals.connection = connectionOf(signer, provider.kind === 'api_key' ? 'account' : options.connectionScope, provider.name);
    next();
  };
}

/**
 * The strings the signature may be over; none when the parameters cannot even be hashed (nested
 * too deep for JSON.stringify): nothing signed them.
 */
async function signedPayloads(ids: { user_id: string; account_id: string }, mode: string, action: string, params: Record<string, unknown>) {
  try {
    // Whatever mode was signed: an unknown one is refused once the signature verifies.
    return signedStrings(ids, await signatureClaims(mode as StripeMode, action, params, sha256Hex));
  } catch (err) {
    if (err instanceof RangeError) return [];
    throw err;
  }
}

/** What `signedRequests` verified. */
export const verified = (res: Response) => res.locals.verified as Verified;

/** The connection a request that passed `signedRequests` acts on. */
export const signedConnection = (res: Response) => res.locals.connection as ConnectionId;

/**
 * Good once: the request's nonce, kept until its signature is too old to pass anyway. False when
 * it was used already (a replay). Only for a request the limits let through: a refused one writes
 * nothing, and the limits refuse its signature for good (RequestCounts.take).
 */
export const claimNonce = (onceOnly: OnceOnly, { signer, nonce, validUntil }: Verified) => onceOnly.claim(`nonce:${connectionKey(signer)}:${nonce}`, validUntil);

export const replayed = () => invalidSignature('This signed request was used already; each signature is good for one request.');

/**
 * A signed route's body parser: a body it cannot parse carries no signature that verifies, so it
 * is a 401 like any other; only one over the size limit stays a 413 (it is never read).
 */
export const signedBody = (parser: RequestHandler): RequestHandler => (req, res, next) =>
  parser(req, res, (err?: unknown) => {
    const status = (err as { status?: unknown } | undefined)?.status;
    const unreadable = typeof status === 'number' && status < 500 && (err as { type?: unknown }).type !== 'entity.too.large';
    next(unreadable ? invalidSignature(UNVERIFIED) : err);
  });
