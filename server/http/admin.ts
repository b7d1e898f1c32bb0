/**
 * The admin API (ADMIN_TOKEN; README, Operating connections) that `npm run connections` drives:
 * connections listed, shown, refreshed and disconnected; refresh secrets re-sealed after a key
 * rotation; events pending or failed, and redelivered; counts. It answers from the registry's
 * database, so one backend of a fleet sees them all. Never a token: states, reasons, key ids.
 */
import express, { Router, type Request } from 'express';
import { ACCOUNT_ID, type ConnectionId, connectionKey, parseConnectionKey, PROVIDER_NAME } from '../../src/common/connection-id';
import type { BrokerCore } from '../broker/broker';
import { DEFAULTS } from '../broker/defaults';
import type { ConnectionRecord, EventState, RecordFilter, StoredEvent } from '../storage/ports';
import { badRequest, HttpError } from './errors';

/** A record as the API shows it. */
const connectionView = (r: ConnectionRecord) => ({
  connection: connectionKey(r),
  mode: r.mode,
  account_id: r.accountId,
  user_id: r.userId,
  provider: r.provider ?? null,
  status: r.status,
  degraded: r.status === 'connected' && r.failures > 0,
  failures: r.failures,
  reason: r.reason,
  last_refresh_at: r.lastRefreshAt,
  access_expires_at: r.accessExpiresAt,
  refresh_expires_at: r.refreshExpiresAt,
  sealed_with: r.sealedWith,
  updated_at: r.updatedAt,
});

const eventView = (e: StoredEvent) => ({
  id: e.id,
  type: e.type,
  created: e.created,
  connection: connectionKey({ mode: e.data.mode, accountId: e.data.account_id, userId: e.data.user_id, provider: e.data.provider }),
  attempts: e.attempts,
  next_attempt_at: e.deliveredAt === null && e.failedAt === null ? e.nextAttemptAt : null,
  delivered_at: e.deliveredAt,
  failed_at: e.failedAt,
  last_error: e.lastError,
});

function query(req: Request, name: string): string | undefined {
  const value = req.query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length > 600) throw badRequest(`${name} must be given once, as text.`);
  return value;
}

function limit(value: unknown, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) throw badRequest(`limit must be a whole number from 1 to ${max}.`);
  return n;
}

function connectionAt(text: string, what = 'connection'): ConnectionId {
  const connection = parseConnectionKey(text);
  if (!connection) throw badRequest(`${what} must be mode/account/user[/provider] (e.g. test/acct_123/usr_456, test/acct_123/(account), or test/acct_123/usr_456/crm).`);
  return connection;
}

function listFilter(req: Request): RecordFilter {
  const filter: RecordFilter = { limit: limit(query(req, 'limit'), 100, 1000) };
  const status = query(req, 'status');
  if (status === 'degraded') Object.assign(filter, { status: 'connected', degraded: true });
  else if (status === 'connected' || status === 'reconnect_required') filter.status = status;
  else if (status !== undefined) throw badRequest('status must be connected, degraded or reconnect_required.');
  const account = query(req, 'account');
  if (account !== undefined && !ACCOUNT_ID.test(account)) throw badRequest('account must be an account id (acct_…).');
  filter.accountId = account;
  const mode = query(req, 'mode');
  if (mode !== undefined && mode !== 'test' && mode !== 'live') throw badRequest('mode must be test or live.');
  filter.mode = mode;
  const provider = query(req, 'provider');
  if (provider !== undefined && !PROVIDER_NAME.test(provider)) throw badRequest('provider must be a provider name of OAUTH_PROVIDERS.');
  filter.provider = provider;
  const after = query(req, 'after');
  if (after !== undefined) filter.after = connectionAt(after, 'after');
  return filter;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function adminRoutes(core: BrokerCore): Router {
  const { storage, lifecycle, engine } = core;
  const router = Router();
  router.use(express.json({ limit: '16kb', strict: true }));
  router.use((_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    next();
  });
  const body = (req: Request): Record<string, unknown> => (typeof req.body === 'object' && req.body !== null && !Array.isArray(req.body) ? req.body : {});

  router.get('/stats', async (_req, res) => {
    const [records, outbox, events] = await Promise.all([storage.records.summary(), storage.outbox.connections(), storage.events.summary()]);
    res.json({
      connections: { total: records.total, ...records.byStatus, degraded: records.degraded },
      sealing: { current_key: core.tokens.sealingKeyId, by_key: records.bySealingKey, missing_here: core.tokens.keysMissingHere(Object.keys(records.bySealingKey)) },
      outbox_depth: outbox.length,
      events: { delivery: core.deliveries.enabled ? 'on' : 'off', pending: events.pending, failed: events.failed, oldest_pending_at: events.oldestPending },
    });
  });

  router.get('/connections', async (req, res) => {
    const filter = listFilter(req);
    const records = await storage.records.list(filter);
    res.json({ connections: records.map(connectionView), next: records.length === filter.limit ? connectionKey(records[records.length - 1]) : null });
  });

  // `:user` is `(account)` for an account-wide connection; a named provider's connection has its name last.
  const path = '/connections/:mode/:account/:user{/:provider}';
  const connectionOf = (req: Request) => connectionAt([req.params.mode, req.params.account, req.params.user, req.params.provider].filter(Boolean).join('/'));
  const known = async (connection: ConnectionId) => {
    const record = await storage.records.get(connection);
    if (!record) throw new HttpError('not_found', 'No such connection in the registry.');
    return record;
  };

  router.get(path, async (req, res) => {
    const connection = connectionOf(req);
    const record = await known(connection);
    res.json({ ...connectionView(record), live: await lifecycle.status(connection), outbox: (await storage.outbox.get(connection)) !== undefined });
  });

  router.post(`${path}/refresh`, async (req, res) => {
    const connection = connectionOf(req);
    await known(connection);
    await engine.refreshNow(connection);
    res.json(connectionView(await known(connection)));
  });

  router.post(`${path}/disconnect`, async (req, res) => {
    const connection = connectionOf(req);
    await known(connection);
    res.json(await lifecycle.disconnect(connection, 'operator'));
  });

  // One page of connections whose refresh secret is not known to be sealed with the current key,
  // paced; the CLI calls again with `next` until it is null. Run again, it starts over with what is left.
  router.post('/reseal', async (req, res) => {
    const { after, limit: size, per_second: perSecond } = body(req);
    if (after !== undefined && typeof after !== 'string') throw badRequest('after must be a connection.');
    const rate = limit(perSecond, DEFAULTS.resealPerSecond, 100);
    const filter: RecordFilter = { sealedOtherThan: core.tokens.sealingKeyId, limit: limit(size, DEFAULTS.resealPageSize, 100), after: after === undefined ? undefined : connectionAt(after, 'after') };
    const records = await storage.records.list(filter);
    const outcomes: Record<string, number> = {};
    for (const record of records) {
      const started = Date.now();
      const outcome = await lifecycle.reseal(record).catch((err: unknown) => {
        core.logger.warn({ connection: connectionKey(record), err: (err as Error).name }, 'reseal failed; left for the next run');
        return 'failed';
      });
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      await pause(Math.max(0, 1000 / rate - (Date.now() - started)));
    }
    res.json({ outcomes, next: records.length === filter.limit ? connectionKey(records[records.length - 1]) : null });
  });

  router.get('/events', async (req, res) => {
    const state = (query(req, 'state') ?? 'pending') as EventState;
    if (state !== 'pending' && state !== 'failed' && state !== 'delivered') throw badRequest('state must be pending, failed or delivered.');
    res.json({ delivery: core.deliveries.enabled ? 'on' : 'off', events: (await storage.events.list(state, limit(query(req, 'limit'), 100, 1000))).map(eventView) });
  });

  router.post('/events/redeliver', async (req, res) => {
    const { ids, failed } = body(req);
    const valid = Array.isArray(ids) && ids.length > 0 && ids.length <= 1000 && ids.every((id) => typeof id === 'string' && /^evt_[a-f0-9]{32}$/.test(id));
    if ((failed === true) === valid) throw badRequest('Give either ids (event ids, evt_…) or failed: true.');
    const count = await storage.events.redeliver(failed === true ? 'failed' : (ids as string[]), core.clock.now());
    core.deliveries.wake();
    res.json({ redelivered: count });
  });

  router.use((req, _res, next) => next(new HttpError('not_found', `No admin route for ${req.method} ${req.path}.`)));
  return router;
}
