/**
 * The signed routes' limits, and the nonce claim after them (README, Signed requests). Each
 * Dashboard user has a window of their own on each route — in account scope too, where the users
 * share one connection — and their account one for the sum of what its users were let through.
 * A request over either is refused without being counted, so one user's excess never spends a
 * neighbour's share. A refused request claims no nonce (nothing written per refused request); the
 * limits refuse its signature for good instead (RequestCounts.take). A replay, refused at the
 * claim, gives back what it counted.
 */
import type { NextFunction, Request, Response } from 'express';
import { connectionKey } from '../../src/common/connection-id';
import type { RouteLimit } from '../broker/defaults';
import type { CountedRequest, OnceOnly, RequestCounts } from '../storage/ports';
import { HttpError } from './errors';
import { claimNonce, replayed, verified, type Verified } from './signature';

/** The windows a request on `route` counts in: its signer's and its account's. */
export function countedRequest(route: string, limit: RouteLimit, { signer, provider, signedAt, validUntil }: Omit<Verified, 'nonce'>): CountedRequest {
  return {
    signerKey: `${route}:${connectionKey({ ...signer, provider })}`,
    accountKey: `${route}:${signer.mode}/${signer.accountId}`,
    perSigner: limit.perConnection,
    perAccount: limit.perAccount,
    windowMs: limit.windowMs,
    signedAt,
    validUntil,
  };
}

/** After `signedRequests`: 429 (Retry-After) beyond the limits, then 401 for a nonce used already. */
export const admitted = (storage: { requestCounts: RequestCounts; onceOnly: OnceOnly }, route: string, limit: RouteLimit) =>
  async (_req: Request, res: Response, next: NextFunction) => {
    const request = verified(res);
    const counted = countedRequest(route, limit, request);
    const taken = await storage.requestCounts.take(counted);
    if (!taken.counted) {
      const wait = taken.retryAfterSeconds;
      throw new HttpError('rate_limited', `Too many ${route} requests for this user or their account; try again in ${wait} s.`, wait);
    }
    if (!(await claimNonce(storage.onceOnly, request))) {
      await storage.requestCounts.giveBack(counted, taken.windowStart);
      throw replayed();
    }
    next();
  };
