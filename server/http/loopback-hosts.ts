/**
 * The local stack (and the backend it starts) answers pages on this machine only. A web page elsewhere can still make the
 * browser send requests to 127.0.0.1, and with DNS rebinding even read the answers — but then
 * the request's Host is the page's own name, not a loopback one, so it is refused here (421).
 */
import type { NextFunction, Request, Response } from 'express';
import { isLoopbackUrl } from '../../src/common/loopback';

export function isLoopbackHost(host: string | undefined): boolean {
  return host !== undefined && URL.canParse(`http://${host}`) && isLoopbackUrl(new URL(`http://${host}`));
}

export const HOST_REFUSED = { code: 'misdirected_request', message: 'The local stack answers only requests for 127.0.0.1, localhost or [::1].' };

/** Express middleware: a non-loopback Host gets 421 and nothing else. */
export function loopbackHostsOnly(req: Request, res: Response, next: NextFunction): void {
  if (isLoopbackHost(req.headers.host)) return next();
  res.status(421).json({ error: HOST_REFUSED });
}
