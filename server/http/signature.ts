/**
 * Signed requests from the extension (src/shared/signed-request.ts says what is signed). Stripe
 * documents the signed string as `JSON.stringify({...claims, user_id, account_id})`, the
 * additional keys first; its server code is not public, so the other plausible order,
 * `{user_id, account_id, ...claims}`, verifies too — nothing else does. The first verified
 * request logs which order this install's Dashboard used. A request that passes acts only for
 * that user, on that account, in that mode, on that route, with those parameters.
 */
import type { NextFunction, Request, Response } from 'express';
import { createHash } from 'node:crypto';
import Stripe from 'stripe';
import type { Logger } from 'pino';
import { type ConnectionId, fromWire } from '../../src/shared/connection-id';
import { signatureClaims, type SignatureClaims } from '../../src/shared/signed-request';
import { badRequest, HttpError } from './errors';

/** stripe-node's webhook tolerance: how old a signature may be. */
const MAX_AGE_SECONDS = 300;
/** stripe-node accepts any future timestamp; a clock more than this far ahead is refused. */
const MAX_FUTURE_SECONDS = 60;

const USER_ID = /^[A-Za-z0-9_]{1,255}$/;
const ACCOUNT_ID = /^acct_[A-Za-z0-9]{1,255}$/;
const TIMESTAMP = /(?:^|,)t=(\d{1,12})(?:,|$)/;

type SignedOrder = 'claims_first' | 'ids_first';

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

/**
 * `clock` is the fleet's (server/broker/clock.ts): a machine whose own clock is off still accepts
 * Stripe's timestamps by the time the rest of the fleet keeps.
 */
export function verifySignedRequest(signingSecret: string, logger: Logger, clock: { nowMs(): number }) {
  let orderLogged = false;
  return async (req: Request, res: Response, next: NextFunction) => {
    const { user_id, account_id, mode, ...params } = requestBody(req);
    if (typeof user_id !== 'string' || !USER_ID.test(user_id)) throw badRequest('user_id must be a Dashboard user id.');
    if (typeof account_id !== 'string' || !ACCOUNT_ID.test(account_id)) throw badRequest('account_id must be an account id (acct_…).');
    if (mode !== 'test' && mode !== 'live') throw badRequest("mode must be 'test' or 'live'.");
    const header = req.get('stripe-signature');
    if (!header) throw invalidSignature('The Stripe-Signature header is missing.');
    const timestamp = Number(TIMESTAMP.exec(header)?.[1]);
    const receivedAt = clock.nowMs();
    if (timestamp > receivedAt / 1000 + MAX_FUTURE_SECONDS) throw invalidSignature('The Stripe-Signature timestamp is in the future.');

    const claims = await signatureClaims(mode, req.baseUrl + req.path, params, sha256Hex);
    const order = signedStrings({ user_id, account_id }, claims).find(([, payload]) => {
      try {
        return Stripe.webhooks.signature!.verifyHeader(payload, header, signingSecret, MAX_AGE_SECONDS, undefined, receivedAt);
      } catch {
        return false;
      }
    })?.[0];
    if (!order) throw invalidSignature('The Stripe-Signature header does not verify for this user, account, mode, route and parameters.');
    if (!orderLogged) {
      orderLogged = true;
      logger.info({ order }, `signed requests verify with ${order === 'claims_first' ? '{...claims, user_id, account_id} (as documented)' : '{user_id, account_id, ...claims}'}`);
    }
    res.locals.connection = fromWire({ user_id, account_id, mode });
    next();
  };
}

/** The signed connection of a request that passed `verifySignedRequest`. */
export const signedConnection = (res: Response) => res.locals.connection as ConnectionId;

