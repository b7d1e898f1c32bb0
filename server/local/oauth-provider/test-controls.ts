/**
 * Knobs for tests, mounted under `/dev/` only when the provider is started with test
 * controls: token-endpoint faults (an outage, a 429, a request that hangs, an `invalid_grant`
 * the provider did not process, a request processed only after a wait, a response without `refresh_token` or `expires_in`, an access
 * token too large for the Secret Store, an answer held back after the refresh was processed), each
 * optionally after `delayMs`; the rotation switch; and counts of token requests, so a
 * test can prove how many refreshes really reached the provider.
 */
import express, { Router } from 'express';
import type Provider from 'oidc-provider';

export type TokenFaultKind = 'http503' | 'http429' | 'hang' | 'invalid_grant' | 'slow' | 'strip_refresh_token' | 'strip_expires_in' | 'huge_access_token' | 'late';
const ANSWERED: TokenFaultKind[] = ['http503', 'http429', 'hang', 'invalid_grant', 'slow'];
/** Applied after the provider processed the request: `late` holds the answer back for `delayMs`. */
const REWRITTEN: TokenFaultKind[] = ['strip_refresh_token', 'strip_expires_in', 'huge_access_token', 'late'];
const KINDS: TokenFaultKind[] = [...ANSWERED, ...REWRITTEN];

export interface TokenFault {
  kind: TokenFaultKind;
  count: number;
  /** How long the request waits first (`hang`: then fails with a 503). */
  delayMs: number;
}

export interface TokenStats {
  /** Token-endpoint answers by grant type and status, e.g. `{refresh_token: {200: 1, 400: 1}}`. */
  token: Record<string, Record<number, number>>;
  revocations: number;
}

const FAULT_ANSWERS: Record<string, [number, object]> = {
  http429: [429, { error: 'slow_down', error_description: 'Too many requests (injected fault).' }],
  http503: [503, { error: 'temporarily_unavailable', error_description: 'The provider is unavailable (injected fault).' }],
  hang: [503, { error: 'temporarily_unavailable', error_description: 'The provider is unavailable (injected fault).' }],
  invalid_grant: [400, { error: 'invalid_grant', error_description: 'grant request is invalid (injected fault)' }],
};

export class TestControls {
  faults: TokenFault[] = [];
  stats: TokenStats = { token: {}, revocations: 0 };
  rotateRefreshTokens: boolean;

  constructor(rotateRefreshTokens: boolean) {
    this.rotateRefreshTokens = rotateRefreshTokens;
  }

  private take(kinds: TokenFaultKind[]): TokenFault | undefined {
    const fault = this.faults.find((f) => kinds.includes(f.kind));
    if (fault && --fault.count <= 0) this.faults.splice(this.faults.indexOf(fault), 1);
    return fault;
  }

  /** Koa middleware around the provider: applies faults and counts token requests. */
  install(provider: Provider): void {
    provider.use(async (ctx, next) => {
      if (ctx.method === 'POST' && ctx.path === '/token/revocation') this.stats.revocations++;
      if (ctx.method !== 'POST' || ctx.path !== '/token') return next();
      const before = this.take(ANSWERED);
      if (before) {
        await new Promise((resolve) => setTimeout(resolve, before.delayMs));
        // `slow` only waits, then the request is processed as usual.
        if (before.kind !== 'slow') {
          [ctx.status, ctx.body] = FAULT_ANSWERS[before.kind];
          return;
        }
      }
      await next();
      const grantType = String(ctx.oidc?.params?.grant_type ?? 'unknown');
      const byStatus = (this.stats.token[grantType] ??= {});
      byStatus[ctx.status] = (byStatus[ctx.status] ?? 0) + 1;
      if (ctx.status !== 200 || typeof ctx.body !== 'object' || ctx.body === null) return;
      const body = ctx.body as Record<string, unknown>;
      const after = this.take(REWRITTEN);
      if (after?.kind === 'strip_refresh_token') delete body.refresh_token;
      if (after?.kind === 'strip_expires_in') delete body.expires_in;
      if (after?.kind === 'huge_access_token') body.access_token = `${body.access_token}${'x'.repeat(6000)}`;
      if (after?.kind === 'late') await new Promise((resolve) => setTimeout(resolve, after.delayMs));
    });
  }

  routes(): Router {
    const router = Router();
    router.use('/dev', express.json({ limit: '10kb' }));
    router.get('/dev/stats', (_req, res) => void res.json(this.stats));
    router.post('/dev/reset', (_req, res) => {
      this.faults = [];
      this.stats = { token: {}, revocations: 0 };
      res.json({ ok: true });
    });
    router.post('/dev/faults', (req, res) => {
      const { kind, count = 1, delayMs = 0 } = (req.body ?? {}) as Partial<TokenFault>;
      if (!KINDS.includes(kind as TokenFaultKind) || !Number.isInteger(count) || count < 1 || !Number.isInteger(delayMs) || delayMs < 0 || delayMs > 60_000) {
        res.status(400).json({ error: { code: 'invalid_fault', message: `kind must be one of ${KINDS.join(', ')}; count >= 1; 0 <= delayMs <= 60000` } });
        return;
      }
      this.faults.push({ kind: kind as TokenFaultKind, count, delayMs });
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
