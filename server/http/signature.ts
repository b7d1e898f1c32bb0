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
import type { NextFunction, Request, Response } from 'express';
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import Stripe from 'stripe';
import { ACCOUNT_ID, type ConnectionId, connectionKey, connectionOf, type ConnectionScope, type DashboardUserId, USER_ID } from '../../src/common/connection-id';
import { signatureClaims, type SignatureClaims, type SignedOrder } from '../../src/common/signed-request';
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
  onceOnly: OnceOnly;
  /** Whose connection a signed request acts on: the signer's own, or their account's. */
  connectionScope: ConnectionScope;
}

/** Middleware for one signed route whose parameters (besides the ids and the nonce) are `spec`. */
export function signedRequests(options: SignatureOptions) {
  let orderLogged = false;
  return (spec: ParamSpec) => async (req: Request, res: Response, next: NextFunction) => {
    const { user_id, account_id, mode, ...params } = requestBody(req);
    if (typeof user_id !== 'string' || !USER_ID.test(user_id)) throw badRequest('user_id must be a Dashboard user id.');
    if (typeof account_id !== 'string' || !ACCOUNT_ID.test(account_id)) throw badRequest('account_id must be an account id (acct_…).');
    if (mode !== 'test' && mode !== 'live') throw badRequest("mode must be 'test' or 'live'.");
    // Before anything is hashed: only the route's parameters, of their kinds and sizes.
    const nonce = checkParams(params, spec);
    const header = req.get('stripe-signature');
    if (!header) throw invalidSignature('The Stripe-Signature header is missing.');
    const timestamp = signedAt(header);
    const receivedAt = options.clock.nowMs();
    if (timestamp > receivedAt / 1000 + MAX_FUTURE_SECONDS) throw invalidSignature('The Stripe-Signature timestamp is in the future.');

    const claims = await signatureClaims(mode, req.baseUrl + req.path, params, sha256Hex);
    const order = signedStrings({ user_id, account_id }, claims).find(([candidate, payload]) => {
      if (options.order && candidate !== options.order) return false;
      try {
        return Stripe.webhooks.signature!.verifyHeader(payload, header, options.appSigningSecret, MAX_AGE_SECONDS, undefined, receivedAt);
      } catch {
        return false;
      }
    })?.[0];
    if (!order) throw invalidSignature('The Stripe-Signature header does not verify for this user, account, mode, route and parameters.');
    const signer: DashboardUserId = { accountId: account_id, userId: user_id, mode };
    // Good once: the nonce is kept until the signature is too old to pass anyway.
    if (!(await options.onceOnly.claim(`nonce:${connectionKey(signer)}:${nonce}`, timestamp + MAX_AGE_SECONDS + MAX_FUTURE_SECONDS))) {
      throw invalidSignature('This signed request was used already; each signature is good for one request.');
    }
    if (!orderLogged) {
      orderLogged = true;
      options.logger.info({ order }, `signed requests verify with ${order === 'claims_first' ? '{...claims, user_id, account_id} (as documented)' : '{user_id, account_id, ...claims}'}`);
    }
    res.locals.signer = signer;
    res.locals.connection = connectionOf(signer, options.connectionScope);
    next();
  };
}

/** The connection a request that passed `signedRequests` acts on. */
export const signedConnection = (res: Response) => res.locals.connection as ConnectionId;

/** The Dashboard user who signed it. */
export const signer = (res: Response) => res.locals.signer as DashboardUserId;
