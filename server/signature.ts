/**
 * Signed requests from the extension. `fetchStripeSignature({mode})` signs the JSON
 * `{user_id, account_id, mode}` (keys in that order) with the app signing secret; the backend
 * rebuilds that string from the body and verifies it (300 s tolerance). A request that passes
 * acts only for that user, on that account, in that mode.
 */
import type { NextFunction, Request, Response } from 'express';
import Stripe from 'stripe';
import type { Connection } from './connection';
import { badRequest, HttpError } from './http-error';

const SIGNATURE_TOLERANCE_SECONDS = 300;

const USER_ID = /^[A-Za-z0-9_]{1,255}$/;
const ACCOUNT_ID = /^acct_[A-Za-z0-9]{1,255}$/;

/** The exact string that is signed; the extension's test double and the local console sign it too. */
export function signedPayload(c: { user_id: string; account_id: string; mode: string }): string {
  return JSON.stringify({ user_id: c.user_id, account_id: c.account_id, mode: c.mode });
}

export function requestBody(req: Request): Record<string, unknown> {
  const body: unknown = req.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('The body must be a JSON object.');
  return body as Record<string, unknown>;
}

export function verifySignedRequest(signingSecret: string) {
  return (req: Request, res: Response, next: NextFunction) => {
    const body = requestBody(req);
    const { user_id, account_id, mode } = body;
    if (typeof user_id !== 'string' || !USER_ID.test(user_id)) throw badRequest('user_id must be a Dashboard user id.');
    if (typeof account_id !== 'string' || !ACCOUNT_ID.test(account_id)) throw badRequest('account_id must be an account id (acct_…).');
    if (mode !== 'test' && mode !== 'live') throw badRequest("mode must be 'test' or 'live'.");
    const header = req.get('stripe-signature');
    if (!header) throw new HttpError(401, 'invalid_signature', 'The Stripe-Signature header is missing.');
    try {
      Stripe.webhooks.signature!.verifyHeader(signedPayload({ user_id, account_id, mode }), header, signingSecret, SIGNATURE_TOLERANCE_SECONDS);
    } catch {
      throw new HttpError(401, 'invalid_signature', 'The Stripe-Signature header does not verify for this user, account and mode.');
    }
    const connection: Connection = { userId: user_id, accountId: account_id, mode };
    res.locals.connection = connection;
    next();
  };
}
