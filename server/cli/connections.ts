/**
 * `npm run connections -- <command>`: an operator's view of a running backend through its admin
 * API (README, Operating connections), the same with one SQLite instance or a PostgreSQL fleet.
 * ADMIN_TOKEN is the backend's; without it, the local stack's (DATA_DIR/local-secrets.json).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ACCOUNT_ID, parseConnectionKey, PROVIDER_NAME } from '../../src/common/connection-id';
import { admin, AdminRefusal, type AdminTarget, CliError } from './admin-client';
import { fields, relative, table } from './table';

const USAGE = `usage: npm run connections -- <command> [options]

  list [--status connected|degraded|reconnect_required] [--account acct_…] [--mode test|live] [--provider NAME] [--limit N]
  show <connection>                 connection: mode/account/user[/provider], e.g. test/acct_123/usr_456/crm
  refresh <connection>              refresh now
  disconnect <connection>           revoke, delete its secrets, forget it (event: disconnected by operator)
  reseal [--per-second N]           re-seal every refresh secret with the first TOKEN_SEALING_KEYS key
  events [--failed]                 events not delivered yet (or failed for good)
  redeliver <event id>… | --failed  send events again
  stats                             connections by status, sealing keys, outbox, events

  --url URL    the backend (default BROKER_URL, else http://127.0.0.1:$PORT, PORT 8787)
  --json       the admin API's JSON instead of a table`;

interface Args {
  command: string;
  positional: string[];
  flags: Record<string, string | true>;
}

const VALUE_FLAGS = ['url', 'status', 'account', 'mode', 'provider', 'limit', 'per-second'];
const BOOLEAN_FLAGS = ['json', 'failed', 'help'];

function parse(argv: string[]): Args {
  const positional: string[] = [];
  const flags: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const name = arg.slice(2);
    if (BOOLEAN_FLAGS.includes(name)) flags[name] = true;
    else if (VALUE_FLAGS.includes(name) && argv[i + 1] !== undefined) flags[name] = argv[++i];
    else throw new CliError(`unknown option ${arg}${VALUE_FLAGS.includes(name) ? ' (it needs a value)' : ''}; see --help`);
  }
  const [command = 'help', ...rest] = positional;
  return { command: flags.help ? 'help' : command, positional: rest, flags };
}

/** Filters checked here, so a typo is answered in the command line's words, not the admin API's. */
const FLAG_VALUES: Record<string, { valid: (value: string) => boolean; expected: string }> = {
  status: { valid: (v) => ['connected', 'degraded', 'reconnect_required'].includes(v), expected: 'connected, degraded or reconnect_required' },
  mode: { valid: (v) => v === 'test' || v === 'live', expected: 'test or live' },
  account: { valid: (v) => ACCOUNT_ID.test(v), expected: 'an account id (acct_…)' },
  provider: { valid: (v) => PROVIDER_NAME.test(v), expected: 'a provider name of OAUTH_PROVIDERS' },
  'per-second': { valid: (v) => /^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 100, expected: 'a whole number from 1 to 100' },
};

function checkFlags(flags: Args['flags']): void {
  for (const [name, { valid, expected }] of Object.entries(FLAG_VALUES)) {
    const value = flags[name];
    if (typeof value === 'string' && !valid(value)) throw new CliError(`--${name} must be ${expected} (got ${value})`);
  }
}

function target(flags: Args['flags']): AdminTarget {
  const url = typeof flags.url === 'string' ? flags.url : (process.env.BROKER_URL ?? `http://127.0.0.1:${process.env.PORT ?? 8787}`);
  if (!URL.canParse(url)) throw new CliError(`--url must be a URL (got ${url})`);
  let token = process.env.ADMIN_TOKEN;
  const localSecrets = path.join(process.env.DATA_DIR ?? '.data', 'local-secrets.json');
  if (!token && existsSync(localSecrets)) token = (JSON.parse(readFileSync(localSecrets, 'utf8')) as { adminToken?: string }).adminToken;
  if (!token) throw new CliError(`ADMIN_TOKEN is not set: use the backend's (npm start keeps its own in ${localSecrets}; DATA_DIR moves it)`);
  return { url, token };
}

const now = () => Math.floor(Date.now() / 1000);

interface ConnectionView {
  connection: string;
  status: string;
  degraded: boolean;
  failures: number;
  reason: string | null;
  last_refresh_at: number | null;
  access_expires_at: number | null;
  refresh_expires_at: number | null;
  sealed_with: string | null;
}

interface EventView {
  id: string;
  type: string;
  created: number;
  connection: string;
  attempts: number;
  next_attempt_at: number | null;
  failed_at: number | null;
  last_error: string | null;
}

const statusOf = (c: ConnectionView) => (c.degraded ? `degraded (${c.failures})` : c.status);

function connectionRows(connections: ConnectionView[]): string {
  const t = now();
  return table(
    ['CONNECTION', 'STATUS', 'REASON', 'REFRESHED', 'ACCESS EXPIRES', 'SEALED WITH'],
    connections.map((c) => [c.connection, statusOf(c), c.reason ?? '-', relative(c.last_refresh_at, t), relative(c.access_expires_at, t), c.sealed_with ?? 'unknown']),
  );
}

const connectionPath = (args: Args) => {
  const [connection] = args.positional;
  if (!connection || args.positional.length > 1) throw new CliError(`${args.command} takes one connection (mode/account/user[/provider])`);
  if (!parseConnectionKey(connection)) throw new CliError(`${connection} is not a connection: mode/account/user[/provider], e.g. test/acct_123/usr_456 (or test/acct_123/(account), test/acct_123/usr_456/crm)`);
  return `/admin/connections/${connection.split('/').map(encodeURIComponent).join('/')}`;
};

const LIST_CONNECTIONS = 'list connections with `npm run connections -- list`';
const LIST_EVENTS = 'list events with `npm run connections -- events` (or `events --failed`)';

/** One request about the connection named in `args`; the registry not knowing it is said as such. */
async function onConnection<T>(args: Args, to: AdminTarget, method: 'GET' | 'POST', suffix = ''): Promise<T> {
  try {
    return await admin<T>(to, method, `${connectionPath(args)}${suffix}`);
  } catch (err) {
    if (err instanceof AdminRefusal && err.status === 404) throw new CliError(`No connection ${args.positional[0]}: ${LIST_CONNECTIONS}`);
    throw err;
  }
}

const EVENT_ID = /^evt_[a-f0-9]{32}$/;

const print = (args: Args, json: unknown, text: () => string) => console.log(args.flags.json ? JSON.stringify(json, null, 2) : text());

type Command = (args: Args, to: AdminTarget) => Promise<void>;

const COMMANDS: Record<string, Command> = {
  async list(args, to) {
    const max = Number(args.flags.limit ?? 1000);
    if (!Number.isInteger(max) || max < 1) throw new CliError('--limit must be a whole number above 0');
    const query = new URLSearchParams();
    for (const name of ['status', 'account', 'mode', 'provider'] as const) if (typeof args.flags[name] === 'string') query.set(name, args.flags[name] as string);
    const connections: ConnectionView[] = [];
    let next: string | null = null;
    do {
      query.set('limit', String(Math.min(1000, max - connections.length)));
      if (next) query.set('after', next);
      const page: { connections: ConnectionView[]; next: string | null } = await admin(to, 'GET', `/admin/connections?${query}`);
      connections.push(...page.connections);
      next = page.next;
    } while (next && connections.length < max);
    print(args, connections, () => (connections.length ? `${connectionRows(connections)}\n${connections.length} connection(s)${next ? ' (more: raise --limit)' : ''}` : 'no connections'));
  },

  async show(args, to) {
    const shown = await onConnection<ConnectionView & { live: { status: string; scope: string | null }; outbox: boolean }>(args, to, 'GET');
    const t = now();
    print(args, shown, () => fields([
      ['connection', shown.connection],
      ['status', statusOf(shown)],
      ['reason', shown.reason ?? '-'],
      ['live status', `${shown.live.status} (from the Secret Store now)`],
      ['scope', shown.live.scope ?? '-'],
      ['last refresh', relative(shown.last_refresh_at, t)],
      ['access expires', relative(shown.access_expires_at, t)],
      ['refresh expires', relative(shown.refresh_expires_at, t)],
      ['sealed with', shown.sealed_with ?? 'unknown'],
      ['held in outbox', shown.outbox ? 'yes (not in the Secret Store yet)' : 'no'],
    ]));
  },

  async refresh(args, to) {
    const after = await onConnection<ConnectionView>(args, to, 'POST', '/refresh');
    print(args, after, () => `refreshed ${after.connection}: ${statusOf(after)}, access expires ${relative(after.access_expires_at, now())}`);
  },

  async disconnect(args, to) {
    const answer = await onConnection<{ revoked: boolean }>(args, to, 'POST', '/disconnect');
    print(args, answer, () => `disconnected ${args.positional[0]} (${answer.revoked ? 'grant revoked at the provider' : 'the provider did not confirm a revocation'})`);
  },

  async reseal(args, to) {
    const perSecond = args.flags['per-second'] === undefined ? undefined : Number(args.flags['per-second']);
    const totals: Record<string, number> = {};
    let after: string | null = null;
    do {
      const page: { outcomes: Record<string, number>; next: string | null } = await admin(to, 'POST', '/admin/reseal', { after: after ?? undefined, per_second: perSecond });
      for (const [outcome, n] of Object.entries(page.outcomes)) totals[outcome] = (totals[outcome] ?? 0) + n;
      const checked = Object.values(totals).reduce((a, b) => a + b, 0);
      if (!args.flags.json && checked > 0) console.error(`… ${checked} checked so far: ${summary(totals)}`);
      after = page.next;
    } while (after);
    const stats: Stats = await admin(to, 'GET', '/admin/stats');
    const older = Object.entries(stats.sealing.by_key).filter(([key]) => key !== stats.sealing.current_key && key !== '(unsealed)');
    print(args, { outcomes: totals, sealing: stats.sealing }, () => [
      `reseal done: ${summary(totals) || 'nothing to do'}`,
      older.length ? `still on older keys (see why above; run again to retry): ${older.map(([key, n]) => `${key} ${n}`).join(', ')}` : `every refresh secret uses ${stats.sealing.current_key}: older keys can be removed from TOKEN_SEALING_KEYS`,
    ].join('\n'));
    if (older.length) process.exitCode = 2;
  },

  async events(args, to) {
    const answer: { delivery: string; events: EventView[] } = await admin(to, 'GET', `/admin/events?state=${args.flags.failed ? 'failed' : 'pending'}`);
    const t = now();
    print(args, answer, () => {
      const what = args.flags.failed ? 'failed events' : 'events waiting for delivery';
      if (answer.events.length === 0) return `no ${what}${answer.delivery === 'off' ? ' (delivery is off: EVENTS_WEBHOOK_URL is not set)' : ''}`;
      // A connection's events go in order: one behind an undelivered one waits for it.
      const next = (e: EventView, i: number) =>
        args.flags.failed ? relative(e.failed_at, t) : answer.events.slice(0, i).some((before) => before.connection === e.connection) ? 'after the one before' : relative(e.next_attempt_at, t);
      return table(
        ['EVENT', 'TYPE', 'CONNECTION', 'CREATED', 'ATTEMPTS', args.flags.failed ? 'FAILED' : 'NEXT ATTEMPT', 'LAST ERROR'],
        answer.events.map((e, i) => [e.id, e.type, e.connection, relative(e.created, t), String(e.attempts), next(e, i), e.last_error ?? '-']),
      );
    });
  },

  async redeliver(args, to) {
    if (args.flags.failed === true ? args.positional.length > 0 : args.positional.length === 0) throw new CliError('redeliver takes event ids, or --failed');
    const ids = [...new Set(args.positional)];
    const malformed = ids.filter((id) => !EVENT_ID.test(id));
    if (malformed.length) throw new CliError(`No event ${malformed.join(', ')}: ${LIST_EVENTS}`);
    const answer: { redelivered: number } = await admin(to, 'POST', '/admin/events/redeliver', args.flags.failed ? { failed: true } : { ids });
    // The registry counts the events it found: fewer than asked for means some ids name none.
    const unknown = args.flags.failed ? 0 : ids.length - answer.redelivered;
    if (unknown > 0 && ids.length === 1) throw new CliError(`No event ${ids[0]}: ${LIST_EVENTS}`);
    print(args, answer, () => `${answer.redelivered} event(s) queued for delivery again`);
    if (unknown > 0) throw new CliError(`${unknown} of the ${ids.length} ids match no event: ${LIST_EVENTS}`);
  },

  async stats(args, to) {
    const s: Stats = await admin(to, 'GET', '/admin/stats');
    const oldest = s.events.oldest_pending_at === null ? '' : `, oldest ${relative(s.events.oldest_pending_at, now())}`;
    print(args, s, () => fields([
      ['connections', `${s.connections.total}: ${s.connections.connected} connected (${s.connections.degraded} degraded), ${s.connections.reconnect_required} reconnect required`],
      ['sealing keys', Object.entries(s.sealing.by_key).map(([key, n]) => `${key}${key === s.sealing.current_key ? ' (current)' : ''}${s.sealing.missing_here?.includes(key) ? ' (missing here)' : ''} ${n}`).join(', ') || '-'],
      ['outbox', `${s.outbox_depth} token set(s) not in the Secret Store yet`],
      ['events', s.events.delivery === 'off' ? 'delivery off (EVENTS_WEBHOOK_URL not set)' : `${s.events.pending} undelivered${oldest}, ${s.events.failed} failed`],
    ]));
  },
};

interface Stats {
  connections: { total: number; connected: number; reconnect_required: number; degraded: number };
  sealing: { current_key: string; by_key: Record<string, number>; missing_here?: string[] };
  outbox_depth: number;
  events: { delivery: 'on' | 'off'; pending: number; failed: number; oldest_pending_at: number | null };
}

const summary = (counts: Record<string, number>) => Object.entries(counts).map(([outcome, n]) => `${n} ${outcome}`).join(', ');

async function main(argv: string[]): Promise<void> {
  const args = parse(argv);
  const command = Object.hasOwn(COMMANDS, args.command) ? COMMANDS[args.command] : undefined;
  if (!command) {
    if (args.command !== 'help') throw new CliError(`unknown command ${args.command}; see --help`);
    console.log(USAGE);
    return;
  }
  checkFlags(args.flags);
  await command(args, target(args.flags));
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(`error: ${(err as Error).message}`);
  process.exitCode = 1;
});
