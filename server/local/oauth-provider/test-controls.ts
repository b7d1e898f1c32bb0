/**
 * Knobs for tests, mounted under `/dev/` only when the provider is started with test
 * controls: token-endpoint faults (an outage, a 429, a request that hangs, an `invalid_grant`
 * the provider did not process, a request processed only after a wait, a response without `refresh_token` or `expires_in`, an access
 * token too large for the Secret Store, an answer held back after the refresh was processed (for
 * `delayMs`, or `held` until `/dev/release`), a
 * 200 after the request was processed that is no token response: HTML, JSON without
 * `access_token`, a body cut mid-way, a body of more than 64 KiB), each
 * optionally after `delayMs`; API faults (an access token the API "forgot", a 429, a 503, a slow
 * answer, an answer that stalls or is cut after its headers, one that echoes the request's
 * Authorization in its headers); the rotation switch; and counts of token and API requests, so a test can prove how
 * many refreshes and API calls really reached the provider, and of token requests still under
 * way, so a test can act while one is held there.
 */
import express, { type RequestHandler, type Response, Router } from 'express';
import { setTimeout as sleep } from 'node:timers/promises';
import type Provider from 'oidc-provider';
import { ApiError, invalidToken } from './api';

/** The context oidc-provider's Koa middleware gets. */
type KoaContext = Parameters<Parameters<Provider['use']>[0]>[0];

/** The 200s that are no token response, sent after the provider processed the request (and rotated). */
export const UNREADABLE_ANSWERS = ['html_body', 'no_access_token', 'cut_body', 'oversized_body'] as const;

export type TokenFaultKind =
  | 'http503' | 'http429' | 'hang' | 'invalid_grant' | 'oversized_error' | 'slow' | 'strip_refresh_token' | 'strip_expires_in' | 'huge_access_token' | 'late' | 'held'
  | (typeof UNREADABLE_ANSWERS)[number];
const ANSWERED: TokenFaultKind[] = ['http503', 'http429', 'hang', 'invalid_grant', 'oversized_error', 'slow'];
/** Applied after the provider processed the request: `late` holds the answer back for `delayMs`, `held` until released (at most `delayMs`, or a minute). */
const REWRITTEN: TokenFaultKind[] = ['strip_refresh_token', 'strip_expires_in', 'huge_access_token', 'late', 'held', ...UNREADABLE_ANSWERS];
const KINDS: TokenFaultKind[] = [...ANSWERED, ...REWRITTEN];

/** Faults that answer on their own, after their headers: the body stalls (until the client gives up), or the connection drops. */
const BROKEN_ANSWERS = ['stall_after_headers', 'reset_after_headers'] as const;
export type ApiFaultKind = 'http401' | 'http429' | 'http503' | 'slow' | 'echo_authorization' | (typeof BROKEN_ANSWERS)[number];
const API_KINDS: ApiFaultKind[] = ['http401', 'http429', 'http503', 'slow', 'echo_authorization', ...BROKEN_ANSWERS];
/** A stalled answer is dropped after this long if its client is still waiting. */
const STALL_LIMIT_MS = 60_000;

interface Fault<Kind> {
  kind: Kind;
  count: number;
  /** How long the request waits first (`hang`: then fails with a 503). */
  delayMs: number;
}

export type TokenFault = Fault<TokenFaultKind>;

export interface ApiFault extends Fault<ApiFaultKind> {
  /** Seconds, for the `Retry-After` of `http429` and `http503`. */
  retryAfter: number;
}

/** Answers by key and status, e.g. `{refresh_token: {200: 1, 400: 1}}`. */
type Tally = Record<string, Record<number, number>>;

export interface RequestStats {
  /** Token-endpoint answers by grant type and status. */
  token: Tally;
  revocations: number;
  /** API answers by method and route, e.g. `{"GET /api/me": {200: 3, 401: 1}}`. */
  api: Tally;
}

const FAULT_ANSWERS: Record<string, [number, object]> = {
  http429: [429, { error: 'slow_down', error_description: 'Too many requests (injected fault).' }],
  http503: [503, { error: 'temporarily_unavailable', error_description: 'The provider is unavailable (injected fault).' }],
  hang: [503, { error: 'temporarily_unavailable', error_description: 'The provider is unavailable (injected fault).' }],
  invalid_grant: [400, { error: 'invalid_grant', error_description: 'grant request is invalid (injected fault)' }],
  // An error answer too large to read (nothing processed): a provider gone wrong, or something posing as it.
  oversized_error: [400, { error: 'invalid_request', error_description: 'x'.repeat(100 * 1024) }],
};

/** The API's error answers for its faults. */
const API_FAULT_ERRORS: Partial<Record<ApiFaultKind, (retryAfter: number) => ApiError>> = {
  // Without looking at the token: one the API "forgot".
  http401: () => invalidToken('The access token is not valid (injected fault).'),
  http429: (retryAfter) => new ApiError(429, 'rate_limited', 'Too many requests (injected fault).', { 'Retry-After': String(retryAfter) }),
  http503: (retryAfter) => new ApiError(503, 'temporarily_unavailable', 'The API is unavailable (injected fault).', { 'Retry-After': String(retryAfter) }),
};

const emptyStats = (): RequestStats => ({ token: {}, revocations: 0, api: {} });

function tally(table: Tally, key: string, status: number): void {
  const byStatus = (table[key] ??= {});
  byStatus[status] = (byStatus[status] ?? 0) + 1;
}

/** Sends the headers and half of `text`, then drops the connection: an answer cut mid-way. */
function cutShort(ctx: KoaContext, text: string): void {
  ctx.respond = false;
  ctx.res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  ctx.res.write(text.slice(0, text.length / 2), () => ctx.res.destroy());
}

/** The headers and the start of a JSON body, then a stall (dropped after the limit) or a dropped connection. */
function breakOff(res: Response, kind: (typeof BROKEN_ANSWERS)[number]): void {
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': 1000 });
  res.write('{"data": "', () => {
    if (kind === 'reset_after_headers') return void res.destroy();
    const timer = setTimeout(() => res.destroy(), STALL_LIMIT_MS);
    res.on('close', () => clearTimeout(timer));
  });
}

/** The first fault of `kinds`, used up once its count is. */
function take<F extends Fault<string>>(faults: F[], kinds: readonly string[]): F | undefined {
  const fault = faults.find((f) => kinds.includes(f.kind));
  if (fault && --fault.count <= 0) faults.splice(faults.indexOf(fault), 1);
  return fault;
}

/** A `/dev/...faults` body as a fault of `kinds`, or undefined when it is not a sane one. */
function readFault<Kind extends string>(body: unknown, kinds: readonly Kind[]): Fault<Kind> | undefined {
  const { kind, count = 1, delayMs = 0 } = (body ?? {}) as Partial<Fault<Kind>>;
  if (!kinds.includes(kind!) || !Number.isInteger(count) || count < 1 || !Number.isInteger(delayMs) || delayMs < 0 || delayMs > 60_000) return undefined;
  return { kind: kind!, count, delayMs };
}

const faultRules = (kinds: readonly string[]) => `kind must be one of ${kinds.join(', ')}; count >= 1; 0 <= delayMs <= 60000`;

export class TestControls {
  faults: TokenFault[] = [];
  apiFaults: ApiFault[] = [];
  stats: RequestStats = emptyStats();
  rotateRefreshTokens: boolean;
  /** Token-endpoint requests received and not yet answered (a test waits for one to be at the provider). */
  private tokenInFlight = 0;
  /** Answers `held` until a test releases them. */
  private held: Array<() => void> = [];

  constructor(
    private readonly rotateAtStart: boolean,
    /** Forgets what the API holds (notes, API keys): a suite starts from an empty provider, whoever used it before. */
    private readonly forgetApiData: () => void,
  ) {
    this.rotateRefreshTokens = rotateAtStart;
  }

  /** Koa middleware around the provider: applies faults and counts token requests. */
  install(provider: Provider): void {
    provider.use(async (ctx, next) => {
      if (ctx.method === 'POST' && ctx.path === '/token/revocation') this.stats.revocations++;
      if (ctx.method !== 'POST' || ctx.path !== '/token') return next();
      this.tokenInFlight++;
      try {
        await this.token(ctx, next);
      } finally {
        this.tokenInFlight--;
      }
    });
  }

  /** One token-endpoint request, with its faults applied and its answer counted. */
  private async token(ctx: KoaContext, next: () => Promise<void>): Promise<void> {
    const before = take(this.faults, ANSWERED);
    if (before) {
      await sleep(before.delayMs);
      // `slow` only waits, then the request is processed as usual.
      if (before.kind !== 'slow') {
        [ctx.status, ctx.body] = FAULT_ANSWERS[before.kind];
        return;
      }
    }
    await next();
    tally(this.stats.token, String(ctx.oidc?.params?.grant_type ?? 'unknown'), ctx.status);
    if (ctx.status !== 200 || typeof ctx.body !== 'object' || ctx.body === null) return;
    const body = ctx.body as Record<string, unknown>;
    const after = take(this.faults, REWRITTEN);
    if (after?.kind === 'strip_refresh_token') delete body.refresh_token;
    if (after?.kind === 'strip_expires_in') delete body.expires_in;
    if (after?.kind === 'huge_access_token') body.access_token = `${body.access_token}${'x'.repeat(6000)}`;
    if (after?.kind === 'late') await sleep(after.delayMs);
    if (after?.kind === 'held') await Promise.race([new Promise<void>((resolve) => this.held.push(resolve)), sleep(after.delayMs || 60_000)]);
    if (after?.kind === 'html_body') [ctx.type, ctx.body] = ['html', '<html><body><h1>Service unavailable</h1></body></html>'];
    if (after?.kind === 'no_access_token') delete body.access_token;
    if (after?.kind === 'cut_body') cutShort(ctx, JSON.stringify(body));
    if (after?.kind === 'oversized_body') body.padding = 'x'.repeat(100 * 1024);
  }

  /** Express middleware first on each API route: counts its answers, then applies API faults. */
  apiGate(): RequestHandler {
    return async (req, res, next) => {
      const route = `${req.method} ${(req.route as { path: string }).path}`;
      res.on('finish', () => tally(this.stats.api, route, res.statusCode));
      const fault = take(this.apiFaults, API_KINDS);
      if (!fault) return next();
      await sleep(fault.delayMs);
      if (fault.kind === 'stall_after_headers' || fault.kind === 'reset_after_headers') return breakOff(res, fault.kind);
      // A careless API's echo of what it was sent, in a rate-limit header and in a common one.
      const authorization = req.get('authorization');
      if (fault.kind === 'echo_authorization' && authorization) res.set({ 'X-RateLimit-Authorization': authorization, 'X-Request-Id': authorization });
      next(API_FAULT_ERRORS[fault.kind]?.(fault.retryAfter));
    };
  }

  routes(): Router {
    const router = Router();
    router.use('/dev', express.json({ limit: '10kb' }));
    router.get('/dev/stats', (_req, res) => void res.json({ ...this.stats, tokenInFlight: this.tokenInFlight }));
    router.post('/dev/release', (_req, res) => {
      for (const release of this.held.splice(0)) release();
      res.json({ ok: true });
    });
    router.post('/dev/reset', (_req, res) => {
      for (const release of this.held.splice(0)) release();
      this.faults = [];
      this.apiFaults = [];
      this.stats = emptyStats();
      this.rotateRefreshTokens = this.rotateAtStart;
      this.forgetApiData();
      res.json({ ok: true });
    });
    router.post('/dev/faults', (req, res) => {
      const fault = readFault(req.body, KINDS);
      if (!fault) {
        res.status(400).json({ error: { code: 'invalid_fault', message: faultRules(KINDS) } });
        return;
      }
      this.faults.push(fault);
      res.json({ ok: true });
    });
    router.post('/dev/api-faults', (req, res) => {
      const fault = readFault(req.body, API_KINDS);
      const { retryAfter = 2 } = (req.body ?? {}) as Partial<ApiFault>;
      if (!fault || !Number.isInteger(retryAfter) || retryAfter < 0 || retryAfter > 3600) {
        res.status(400).json({ error: { code: 'invalid_fault', message: `${faultRules(API_KINDS)}; 0 <= retryAfter <= 3600` } });
        return;
      }
      this.apiFaults.push({ ...fault, retryAfter });
      res.json({ ok: true });
    });
    router.post('/dev/settings', (req, res) => {
      const rotate = (req.body ?? {}).rotateRefreshTokens;
      if (typeof rotate !== 'boolean') {
        res.status(400).json({ error: { code: 'invalid_settings', message: 'rotateRefreshTokens must be a boolean' } });
        return;
      }
      this.rotateRefreshTokens = rotate;
      res.json({ ok: true });
    });
    return router;
  }
}
