/** A route for operators only: `Authorization: Bearer <token>`, compared in constant time. */
import type { NextFunction, Request, Response } from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';
import { HttpError } from './errors';

/** Hashed first, so neither the comparison's time nor its length check says anything of the token. */
const digest = (text: string) => createHash('sha256').update(text).digest();

export function bearerOnly(token: string, variable: string) {
  const expected = digest(`Bearer ${token}`);
  return (req: Request, _res: Response, next: NextFunction) => {
    if (!timingSafeEqual(digest(req.get('authorization') ?? ''), expected)) throw new HttpError('unauthorized', `This route needs Authorization: Bearer <${variable}>.`);
    next();
  };
}
