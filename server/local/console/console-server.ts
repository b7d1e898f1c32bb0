/**
 * The offline console: a local page that plays the Stripe Dashboard's part for this app's own
 * views (browser/host.tsx, browser/extension-worker.tsx), wired to the Secret Store emulator,
 * the dev provider and the backend of `npm start`. This server answers the host calls that need
 * state or secrets — with the same Dashboard implementation the tests use (dashboard/host-calls.ts):
 * PKCE states and their verifiers, signatures in Stripe's documented order, the Stripe API as the
 * current user (host calls, or api.stripe.com with an app embedded key) — and the provider's
 * redirect to the console's own return URL. Every identity is a new session: a view opened
 * before a switch can no longer sign or read anything. It serves the views as app-source.ts
 * builds them, hears the backend's connection events (event-inbox.ts) and reads its log
 * (backend-log.ts), and counts a revision per connection that tells the page to reload its views.
 */
import { build } from 'esbuild';
import express from 'express';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import Stripe from 'stripe';
import { connectionKey, connectionOf, type ConnectionId, type ConnectionScope, type DashboardUserId, secretScope } from '../../../src/common/connection-id';
import { apiKeySecretName, secretNames } from '../../../src/common/token-layout';
import { PROVIDER_PRESETS } from '../../../src/common/presets';
import { createStripeClient } from '../../stripe-client';
import { describeError } from '../../broker/errors';
import { TokenSealer } from '../../broker/token-sealing';
import type { ConnectionRecords } from '../../storage/ports';
import { EmbeddedKeys, OAuthContext, OAuthStates, stripeApiFetchAs, stripeSignature } from '../dashboard/host-calls';
import { CONSOLE_API, type ConsoleIdentity, type ConsoleSnapshot, type OfService, type SecretRow, type Service } from './api';
import { AppSource, BROWSER_BUNDLE } from './app-source';
import { BackendLog } from './backend-log';
import { CONSOLE_PAGE } from './console-page';
import { EventInbox } from './event-inbox';
import { loopbackHostsOnly } from '../../http/loopback-hosts';
import { closeServer } from '../../http/close-server';
import { listen } from '../../http/listen';

const USERS = [
  { id: 'usr_console_ana', name: 'Ana (Dashboard user A)', providerUser: 'alice' },
  { id: 'usr_console_ben', name: 'Ben (Dashboard user B)', providerUser: 'bob' },
];
const ACCOUNTS = [
  { id: 'acct_1RocketRides', name: 'Rocket Rides' },
  { id: 'acct_1PashaShop', name: 'Pasha Shop' },
];

/** What the console talks to, known once the rest of the stack is up. */
export interface ConsoleParts {
  emulatorUrl: string;
  issuer: string;
  backendUrl: string;
  clientId: string;
  /** The backend's providers: each OAuth one is the dev provider, each API-key one its API. */
  services: Service[];
  /** A new API key of a dev provider user (the provider runs in this process). */
  issueApiKey(providerUser: string): string;
  secretKeys: Record<'test' | 'live', string>;
  signingSecret: string;
  sealer: TokenSealer;
  /** The backend's CONNECTION_SCOPE, for views whose manifest names none. */
  connectionScope: ConnectionScope;
  /** EVENTS_WEBHOOK_SECRET of the backend's deliveries to CONSOLE_API.events, and the backend's events (those not delivered yet). */
  eventsSecret: string;
  events: ConstructorParameters<typeof EventInbox>[0]['events'];
  /** Drops a connection from the backend's access-token cache (after the console changed its secrets). */
  invalidate(connection: ConnectionId): void;
  /** The backend's registry: who each connection is at the provider (its ID token's subject). */
  records: Pick<ConnectionRecords, 'get'>;
}

/** The offline stack's default addresses in the manifests, and where they are in this run. */
const LOCAL_DEFAULTS = { backend: 'http://127.0.0.1:8787', provider: 'http://127.0.0.1:9090' };

/** Returns from the provider kept for their page to take. */
const MAX_PENDING = 20;

/** A token shown as its first characters only. */
const mask = (token: unknown) => (typeof token === 'string' ? `${token.slice(0, 6)}…(${token.length})` : String(token));

async function bundle(entry: string): Promise<string> {
  const result = await build({ ...BROWSER_BUNDLE, entryPoints: [path.join(__dirname, 'browser', entry)] });
  return result.outputFiles[0].text;
}

type Failure = Error & { status?: number };
const fail = (status: number, message: string): Failure => Object.assign(new Error(message), { status });

export class OfflineConsole {
  private parts?: ConsoleParts;
  private inbox?: EventInbox;
  private keys?: EmbeddedKeys;
  private identity: ConsoleIdentity = { user: USERS[0], account: ACCOUNTS[0], mode: 'test' };
  private session = 1;
  private readonly revisions = new Map<string, number>();
  private readonly states = new OAuthStates();
  private readonly returns = new Map<string, OAuthContext>();
  /** The backend's log as the panels show it: offline-stack.ts hands `log.tap` to the backend's logger. */
  readonly log = new BackendLog((key) => this.changed(key));

  private source?: AppSource;
  /** The page and the views, built from the start: the console serves once they are. */
  private readonly building: Promise<void>;

  private constructor(
    private readonly server: http.Server,
    readonly url: string,
    appRoot: string | undefined,
    private readonly hostCalls: boolean,
  ) {
    this.building = Promise.all([AppSource.watch(appRoot), bundle('host.tsx')]).then(([app, hostJs]) => {
      this.source = app;
      server.on('request', this.routes(hostJs));
    });
    // Awaited by built() or close(): a failed build is no unhandled rejection meanwhile.
    this.building.catch(() => undefined);
  }

  /** Listens at once: the provider and the backend start with its URLs while it builds (built()). */
  static async listen(port: number, options: { appRoot?: string; hostCalls?: boolean } = {}): Promise<OfflineConsole> {
    const server = http.createServer();
    const url = `http://127.0.0.1:${await listen(server, port, '127.0.0.1')}`;
    return new OfflineConsole(server, url, options.appRoot, options.hostCalls ?? false);
  }

  /** Resolves once the page and the views are built; rejects when the views do not build. */
  built(): Promise<void> {
    return this.building;
  }

  private get app(): AppSource {
    if (!this.source) throw fail(503, 'The console is still starting.');
    return this.source;
  }

  get returnUrl(): string {
    return `${this.url}${CONSOLE_API.oauthReturn}`;
  }

  /** Where the backend delivers connection events. */
  get eventsUrl(): string {
    return `${this.url}${CONSOLE_API.events}`;
  }

  attach(parts: ConsoleParts): void {
    this.parts = parts;
    this.keys = new EmbeddedKeys({ apiBase: parts.emulatorUrl, secretKeys: parts.secretKeys, signingSecret: parts.signingSecret });
    this.inbox = new EventInbox({ secret: parts.eventsSecret, events: parts.events }, (key) => this.changed(key));
  }

  private get user(): DashboardUserId {
    return { userId: this.identity.user.id, accountId: this.identity.account.id, mode: this.identity.mode };
  }

  /** The identity's connection to a service: the user's, or the account's with an account-wide scope or an API key. */
  private connection(parts: ConsoleParts, service: Service): ConnectionId {
    const scope = service.kind === 'api_key' || this.constants(parts).CONNECTION_SCOPE === 'account' ? 'account' : 'user';
    return connectionOf(this.user, scope, service.name);
  }

  /** For each OAuth service the current user is connected to: the other users of the account and mode connected as the same provider user. */
  private async sharedLogins(parts: ConsoleParts): Promise<ConsoleSnapshot['sharedLogins']> {
    if (this.constants(parts).CONNECTION_SCOPE === 'account') return [];
    const shared = await Promise.all(parts.services.filter((s) => s.kind === 'oauth').map(async (service) => {
      const subject = (await parts.records.get(this.connection(parts, service)))?.subject;
      if (!subject) return [];
      const others = USERS.filter((u) => u.id !== this.identity.user.id);
      const same = await Promise.all(others.map(async (u) => (await parts.records.get(connectionOf({ ...this.user, userId: u.id }, 'user', service.name)))?.subject === subject));
      const users = others.filter((_, i) => same[i]).map((u) => u.name);
      return users.length > 0 ? [{ service: service.name ?? '', subject, users }] : [];
    }));
    return shared.flat();
  }

  /** The OAuth service a console action names (`provider`, optional while there is one service). */
  private oauthService(parts: ConsoleParts, provider: unknown): Service {
    const service = provider === undefined && parts.services.length === 1 ? parts.services[0] : parts.services.find((s) => s.name !== undefined && s.name === provider);
    if (service?.kind !== 'oauth') throw fail(400, `provider must name an OAuth service: ${parts.services.filter((s) => s.kind === 'oauth').map((s) => s.name ?? '(unnamed)').join(', ')}`);
    return service;
  }

  private changed(key: string): void {
    this.revisions.set(key, (this.revisions.get(key) ?? 0) + 1);
  }

  /** The manifest's constants, with the offline stack's addresses where they name its defaults (the ports may differ). */
  private constants(parts: ConsoleParts): Record<string, unknown> {
    const rebase = (value: unknown) => {
      if (typeof value !== 'string') return value;
      if (value.startsWith(LOCAL_DEFAULTS.backend)) return parts.backendUrl + value.slice(LOCAL_DEFAULTS.backend.length);
      if (value.startsWith(LOCAL_DEFAULTS.provider)) return parts.issuer + value.slice(LOCAL_DEFAULTS.provider.length);
      return value;
    };
    const manifest = Object.fromEntries(Object.entries(this.app.current.constants).map(([name, value]) => [name, rebase(value)]));
    // The dev preset's URLs name the default port: this run's provider is given as constants, which the manifest's own still override.
    const dev = PROVIDER_PRESETS.dev;
    const withDev = (entry: Record<string, unknown>) =>
      entry.PROVIDER === 'dev' ? { AUTHORIZE_URL: rebase(dev.authorizeUrl), TOKEN_URL: rebase(dev.tokenUrl), API_BASE_URL: rebase(dev.apiBase), ...entry } : entry;
    const { SERVICES, ...top } = withDev(manifest);
    // Each service's constants likewise; none when the backend runs the one unnamed provider (LOCAL_ONE_PROVIDER=1).
    const services = typeof SERVICES === 'object' && SERVICES !== null && parts.services.some((s) => s.name)
      ? { SERVICES: Object.fromEntries(Object.entries(SERVICES).map(([name, entry]) => [name, withDev(Object.fromEntries(Object.entries(entry as object).map(([k, v]) => [k, rebase(v)])))])) }
      : {};
    return { CONNECTION_SCOPE: parts.connectionScope, ...top, ...services, OAUTH_RETURN_URL: this.returnUrl };
  }

  private stripe(parts: ConsoleParts): Stripe {
    return createStripeClient(parts.secretKeys[this.identity.mode], { apiBase: parts.emulatorUrl, maxNetworkRetries: 0, stripeAccount: this.identity.account.id });
  }

  /** The secrets of the identity's connections, in each scope they use; an API key is never opened. */
  private async secrets(parts: ConsoleParts): Promise<SecretRow[]> {
    const owners = parts.services.map((service) => {
      const connection = this.connection(parts, service);
      const names = service.kind === 'api_key' ? [apiKeySecretName(service.name!)] : Object.values(secretNames(service.name));
      return { service, connection, names, scope: connection.userId === null ? 'account' as const : 'user' as const };
    });
    const scopes = [...new Map(owners.map((o) => [o.scope, o.connection])).values()];
    const rows = await Promise.all(scopes.map(async (connection) => {
      const list = await this.stripe(parts).apps.secrets.list({ scope: secretScope(connection), expand: ['data.payload'], limit: 10 });
      const scope = connection.userId === null ? 'account' as const : 'user' as const;
      return list.data.map((secret) => this.secretRow(parts, secret, scope, owners.find((o) => o.scope === scope && o.names.includes(secret.name))));
    }));
    return rows.flat().sort((a, b) => a.scope.localeCompare(b.scope) || a.name.localeCompare(b.name));
  }

  /** A secret as the panel shows it: tokens masked, opened with its connection when sealed; an API key not at all (any `apikey.*`, whoever's it is). */
  private secretRow(parts: ConsoleParts, secret: Stripe.Apps.Secret, scope: SecretRow['scope'], owner?: { service: Service; connection: ConnectionId }): SecretRow {
    const row = { name: secret.name, scope, service: owner ? owner.service.name ?? '' : null, expires_at: secret.expires_at ?? null, generation: null };
    if (secret.name.startsWith(apiKeySecretName(''))) return { ...row, masked: 'sealed API key (never shown)' };
    const sealed = TokenSealer.isSealed(secret.payload!);
    try {
      const payload = JSON.parse(sealed ? parts.sealer.open(secret.payload!, owner!.connection, secret.name) : secret.payload!) as Record<string, unknown>;
      const shown = { ...payload };
      for (const field of ['access_token', 'refresh_token', 'state', 'nonce']) if (field in shown) shown[field] = mask(shown[field]);
      return { ...row, generation: typeof payload.generation === 'number' ? payload.generation : null, masked: `${sealed ? 'sealed ' : ''}${JSON.stringify(shown)}` };
    } catch {
      // Sealed for a connection this identity has no service for, or not ours to read.
      return { ...row, masked: '(not readable here)' };
    }
  }

  private routes(hostJs: string): express.Express {
    const app = express();
    const ready = (): ConsoleParts => {
      if (!this.parts) throw fail(503, 'The console is still starting.');
      return this.parts;
    };
    app.use(loopbackHostsOnly);
    // What the views' worker sends to api.stripe.com, and the backend's event deliveries: each
    // authenticated by what it carries (an embedded key this console issued, a signature).
    app.all(`${CONSOLE_API.stripeApi}/*path`, express.text({ type: () => true, limit: '64kb' }), async (req, res) => {
      if (!this.keys) throw fail(503, 'The console is still starting.');
      const headers: Record<string, string> = {};
      for (const name of ['authorization', 'content-type', 'stripe-version', 'idempotency-key']) if (req.get(name)) headers[name] = req.get(name)!;
      const answer = await this.keys.fetch(`https://api.stripe.com${req.originalUrl.slice(CONSOLE_API.stripeApi.length)}`, {
        method: req.method,
        headers,
        body: req.method === 'GET' || req.method === 'DELETE' || typeof req.body !== 'string' ? undefined : req.body,
      });
      // As it came: the SDK's frame fetch reads JSON only for exactly `application/json` (Express's res.set and res.send would add a charset).
      res.status(answer.status).setHeader('content-type', answer.headers.get('content-type') ?? 'application/json');
      res.end(Buffer.from(await answer.arrayBuffer()));
    });
    app.post(CONSOLE_API.events, express.text({ type: 'application/json', limit: '64kb' }), (req, res) => {
      if (!this.inbox) throw fail(503, 'The console is still starting.');
      const headers = Object.fromEntries(['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((name) => [name, req.get(name)]));
      if (!this.inbox.receive(headers, typeof req.body === 'string' ? req.body : '')) throw fail(400, 'Not a connection event signed with the console\'s events secret.');
      res.json({ received: true });
    });
    // Every other POST is the page's own fetch: JSON, from this origin. A form another site posts,
    // or a fetch from another origin, never signs, expires or revokes anything.
    app.use((req, res, next) => {
      if (req.method !== 'POST') return next();
      const site = req.get('sec-fetch-site');
      const origin = req.get('origin');
      if (!req.is('application/json') || (site !== undefined && site !== 'same-origin') || (origin !== undefined && origin !== this.url)) {
        res.status(403).json({ error: { message: 'The console takes requests from its own page only.' } });
        return;
      }
      next();
    });
    app.get('/', (_req, res) => void res.type('html').send(CONSOLE_PAGE));
    app.get('/favicon.ico', (_req, res) => void res.status(204).end());
    app.get('/host.js', (_req, res) => void res.type('js').send(hostJs));
    app.get('/extension.js', (_req, res) => void res.type('js').set('cache-control', 'no-store').send(this.app.current.extensionJs));
    app.use(express.json({ limit: '64kb' }));

    // A host call names the session its view was opened in; one from before a switch of user,
    // account or mode is refused, so nothing goes out under a mixed identity.
    app.use('/host', (req, _res, next) => {
      if (req.body?.session !== this.session) throw fail(409, 'This view was opened for another user, account or mode; it is being reopened.');
      next();
    });
    app.post(CONSOLE_API.createOAuthState, (req, res) => void res.json(this.states.create(String(req.body?.custom ?? ''))));
    app.post(CONSOLE_API.fetchStripeSignature, (req, res) => {
      const additional = req.body?.additional;
      if (typeof additional !== 'object' || additional === null || Array.isArray(additional)) throw fail(400, 'additional must be an object');
      res.json({ signature: stripeSignature(ready().signingSecret, this.user, additional) });
    });
    app.post(CONSOLE_API.stripeApiFetch, async (req, res) => {
      const parts = ready();
      const { path: target, init } = req.body ?? {};
      if (typeof target !== 'string') throw fail(400, 'path must be a string');
      res.json(await stripeApiFetchAs(this.user, parts.emulatorUrl, parts.secretKeys[this.identity.mode])(target, init ?? {}));
    });
    app.post(CONSOLE_API.fetchAppEmbeddedKey, (_req, res) => {
      ready();
      res.json({ key: this.keys!.issue(this.user) });
    });

    // The provider sends the browser here, as it would to https://dashboard.stripe.com/.../apps-oauth/<app>.
    app.get(CONSOLE_API.oauthReturn, (req, res) => {
      const id = randomUUID();
      // A handful of returns wait for their page at most; the oldest goes first.
      if (this.returns.size >= MAX_PENDING) this.returns.delete(this.returns.keys().next().value!);
      this.returns.set(id, this.states.contextFor(new URL(req.originalUrl, this.url)));
      res.redirect(`/?return=${id}`);
    });
    app.post(CONSOLE_API.takeReturn, (req, res) => {
      const id = String(req.body?.id ?? '');
      const oauthContext = this.returns.get(id);
      this.returns.delete(id);
      res.json({ oauthContext: oauthContext ?? { error: 'invalid_state' } });
    });

    app.get(CONSOLE_API.state, async (_req, res) => {
      const parts = ready();
      const current = this.app.current;
      const services = parts.services.map((service) => ({ ...service, connection: connectionKey(this.connection(parts, service)) }));
      // Each panel's rows of every service's connection, newest first, each saying whose it is.
      const tagged = async <T extends { time: number } | { created: number }>(rowsOf: (key: string) => T[] | Promise<T[]>): Promise<Array<OfService<T>>> => {
        const rows = await Promise.all(services.map(async (s) => (await rowsOf(s.connection)).map((row) => ({ ...row, service: s.name ?? '' }))));
        const time = (row: T) => ('time' in row ? row.time : row.created);
        return rows.flat().sort((a, b) => time(b) - time(a));
      };
      const [secrets, events, history, proxied, sharedLogins] = await Promise.all([
        this.secrets(parts), tagged((key) => this.inbox!.of(key)), tagged((key) => this.log.historyOf(key)), tagged((key) => this.log.proxiedOf(key)), this.sharedLogins(parts),
      ]);
      const snapshot: ConsoleSnapshot = {
        identity: this.identity,
        session: this.session,
        // Any service's change reloads the views.
        revision: services.reduce((sum, s) => sum + (this.revisions.get(s.connection) ?? 0), 0),
        build: { number: current.number, error: current.error },
        views: current.views,
        hostCalls: this.hostCalls,
        users: USERS,
        accounts: ACCOUNTS,
        constants: this.constants(parts),
        services,
        secrets,
        history,
        proxied,
        events,
        sharedLogins,
      };
      res.json(snapshot);
    });
    app.post(CONSOLE_API.select, (req, res) => {
      const { user, account, mode } = req.body ?? {};
      this.identity = {
        user: USERS.find((u) => u.id === user) ?? this.identity.user,
        account: ACCOUNTS.find((a) => a.id === account) ?? this.identity.account,
        mode: mode === 'test' || mode === 'live' ? mode : this.identity.mode,
      };
      // A new Dashboard session: the earlier views' keys and host calls stop working.
      this.session++;
      this.keys?.revokeAll();
      res.json({ identity: this.identity, session: this.session });
    });
    // As if the access token's time ran out: the service's access secret goes (and the backend's cached copy).
    app.post(CONSOLE_API.expire, async (req, res) => {
      const parts = ready();
      const service = this.oauthService(parts, req.body?.provider);
      const connection = this.connection(parts, service);
      await this.stripe(parts).apps.secrets.deleteWhere({ name: secretNames(service.name).access, scope: secretScope(connection) }).catch(() => undefined);
      parts.invalidate(connection);
      this.changed(connectionKey(connection));
      res.json({ expired: true });
    });
    // As if the user revoked the app at the provider: the views' next check finds the grant gone.
    // Every OAuth service of `npm start` is the dev provider, so its revocation endpoint is the one.
    app.post(CONSOLE_API.revoke, async (req, res) => {
      const parts = ready();
      const service = this.oauthService(parts, req.body?.provider);
      const connection = this.connection(parts, service);
      const name = secretNames(service.name).refresh;
      const secret = await this.stripe(parts).apps.secrets.find({ name, scope: secretScope(connection), expand: ['payload'] }).catch(() => undefined);
      if (!secret?.payload) throw fail(404, 'There is no refresh token to revoke.');
      const { refresh_token } = JSON.parse(parts.sealer.open(secret.payload, connection, name)) as { refresh_token: string };
      const answer = await fetch(`${parts.issuer}/token/revocation`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: refresh_token, token_type_hint: 'refresh_token', client_id: parts.clientId }),
      });
      this.changed(connectionKey(connection));
      res.json({ revoked: answer.ok });
    });
    // The current user's own key at the dev provider, as its site would show it once: to paste
    // into the drawer. Answered to the page only (never stored or logged here).
    app.post(CONSOLE_API.apiKey, (_req, res) => {
      const parts = ready();
      const providerUser = this.identity.user.providerUser;
      res.set('cache-control', 'no-store').json({ api_key: parts.issueApiKey(providerUser), user: providerUser });
    });

    app.use((err: Failure, req: express.Request, res: express.Response, _next: express.NextFunction) => {
      // Error classes only: a Stripe error message can echo parameters.
      if (!err.status) console.error(`console: ${req.method} ${req.path} failed: ${describeError(err)}`);
      res.status(err.status ?? 500).json({ error: { message: err.status ? err.message : 'The console failed; see its terminal.' } });
    });
    return app;
  }

  async close(): Promise<void> {
    await this.building.catch(() => undefined);
    await this.source?.close();
    await closeServer(this.server);
  }
}
