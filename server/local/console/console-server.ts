/**
 * The offline console: a local page that plays the Stripe Dashboard's part for this app's own
 * views (browser/host.tsx, browser/extension-worker.tsx), wired to the Secret Store emulator,
 * the dev provider and the backend of `npm start`. This server answers the host calls that need
 * state or secrets — with the same Dashboard implementation the tests use (dashboard/host-calls.ts):
 * PKCE states and their verifiers, signatures in Stripe's documented order, `stripeApiFetch`
 * as the current user — and the provider's redirect to the console's own return URL.
 */
import { build } from 'esbuild';
import express from 'express';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import Stripe from 'stripe';
import { connectionKey, type ConnectionId } from '../../../src/shared/connection-id';
import { SECRET_NAMES } from '../../../src/shared/token-layout';
import { createStripeClient } from '../../stripe-client';
import { describeError } from '../../broker/errors';
import { TokenSealer } from '../../broker/token-sealing';
import { DashboardUser, OAuthContext, OAuthStates, stripeApiFetchAs, stripeSignature } from '../dashboard/host-calls';
import { CONSOLE_API, type ConsoleIdentity, type ConsoleSnapshot } from './api';
import { CONSOLE_PAGE } from './console-page';
import { loopbackHostsOnly } from '../../http/loopback-hosts';
import { RefreshHistory } from './refresh-history';
import { closeServer } from '../../http/close-server';

const USERS = [
  { id: 'usr_console_ana', name: 'Ana (Dashboard user A)' },
  { id: 'usr_console_ben', name: 'Ben (Dashboard user B)' },
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
  secretKeys: Record<'test' | 'live', string>;
  signingSecret: string;
  sealer: TokenSealer;
  history: RefreshHistory;
  /** Drops a connection from the backend's access-token cache (after the console changed its secrets). */
  invalidate(connection: ConnectionId): void;
}

/** Returns from the provider kept for their page to take. */
const MAX_PENDING = 20;

/** A token shown as its first characters only. */
const mask = (token: unknown) => (typeof token === 'string' ? `${token.slice(0, 6)}…(${token.length})` : String(token));

async function bundle(entry: string): Promise<string> {
  const result = await build({
    entryPoints: [path.join(__dirname, 'browser', entry)],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    jsx: 'automatic',
    minify: true,
    write: false,
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'silent',
  });
  return result.outputFiles[0].text;
}

export class OfflineConsole {
  private parts?: ConsoleParts;
  private identity: ConsoleIdentity = { user: USERS[0], account: ACCOUNTS[0], mode: 'test' };
  private readonly states = new OAuthStates();
  private readonly returns = new Map<string, OAuthContext>();

  private constructor(
    private readonly server: http.Server,
    readonly url: string,
  ) {}

  /** Listens first (the provider needs the return URL before it starts), serves once attached. */
  static async listen(port: number): Promise<OfflineConsole> {
    const app = express();
    const server = http.createServer(app);
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
    const offline = new OfflineConsole(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    const [hostJs, extensionJs] = await Promise.all([bundle('host.tsx'), bundle('extension-worker.tsx')]);
    offline.routes(app, hostJs, extensionJs);
    return offline;
  }

  get returnUrl(): string {
    return `${this.url}${CONSOLE_API.oauthReturn}`;
  }

  attach(parts: ConsoleParts): void {
    this.parts = parts;
  }

  private get user(): DashboardUser {
    return { userId: this.identity.user.id, accountId: this.identity.account.id, mode: this.identity.mode };
  }

  private stripe(parts: ConsoleParts): Stripe {
    return createStripeClient(parts.secretKeys[this.identity.mode], { apiBase: parts.emulatorUrl, maxNetworkRetries: 0, stripeAccount: this.identity.account.id });
  }

  private async secrets(parts: ConsoleParts): Promise<ConsoleSnapshot['secrets']> {
    const list = await this.stripe(parts).apps.secrets.list({ scope: { type: 'user', user: this.identity.user.id }, expand: ['data.payload'], limit: 10 });
    return list.data.map((secret) => {
      let generation: number | null = null;
      let masked = '…';
      try {
        const text = TokenSealer.isSealed(secret.payload!) ? parts.sealer.open(secret.payload!, this.user, secret.name) : secret.payload!;
        const payload = JSON.parse(text) as Record<string, unknown>;
        generation = typeof payload.generation === 'number' ? payload.generation : null;
        const shown = { ...payload };
        for (const field of ['access_token', 'refresh_token', 'state', 'nonce']) if (field in shown) shown[field] = mask(shown[field]);
        masked = `${TokenSealer.isSealed(secret.payload!) ? 'sealed ' : ''}${JSON.stringify(shown)}`;
      } catch {
        masked = '(not readable here)';
      }
      return { name: secret.name, expires_at: secret.expires_at ?? null, generation, masked };
    }).sort((a, b) => a.name.localeCompare(b.name));
  }

  private routes(app: express.Express, hostJs: string, extensionJs: string): void {
    const ready = (): ConsoleParts => {
      if (!this.parts) throw Object.assign(new Error('The console is still starting.'), { status: 503 });
      return this.parts;
    };
    app.use(loopbackHostsOnly);
    // Every POST is the page's own fetch: JSON, from this origin. A form another site posts, or a
    // fetch from another origin, never signs, expires or revokes anything.
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
    app.get('/extension.js', (_req, res) => void res.type('js').send(extensionJs));
    app.use(express.json({ limit: '64kb' }));

    app.post(CONSOLE_API.createOAuthState, (req, res) => void res.json(this.states.create(String(req.body?.custom ?? ''))));
    app.post(CONSOLE_API.fetchStripeSignature, (req, res) => {
      const additional = req.body?.additional;
      if (typeof additional !== 'object' || additional === null || Array.isArray(additional)) throw Object.assign(new Error('additional must be an object'), { status: 400 });
      res.json({ signature: stripeSignature(ready().signingSecret, this.user, additional) });
    });
    app.post(CONSOLE_API.stripeApiFetch, async (req, res) => {
      const parts = ready();
      const { path: target, init } = req.body ?? {};
      if (typeof target !== 'string') throw Object.assign(new Error('path must be a string'), { status: 400 });
      res.json(await stripeApiFetchAs(this.user, parts.emulatorUrl, parts.secretKeys[this.identity.mode])(target, init ?? {}));
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
      const snapshot: ConsoleSnapshot = {
        identity: this.identity,
        users: USERS,
        accounts: ACCOUNTS,
        constants: {
          PROVIDER: 'dev',
          CLIENT_ID: parts.clientId,
          BACKEND_URL: parts.backendUrl,
          AUTHORIZE_URL: `${parts.issuer}/auth`,
          TOKEN_URL: `${parts.issuer}/token`,
          API_BASE_URL: `${parts.issuer}/api`,
          SCOPES: 'openid profile email offline_access',
          EXCHANGE_MODE: 'backend',
          OAUTH_RETURN_URL: this.returnUrl,
        },
        secrets: await this.secrets(parts),
        history: parts.history.of(connectionKey(this.user)),
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
      res.json({ identity: this.identity });
    });
    // As if the access token's time ran out: its secret goes (and the backend's cached copy).
    app.post(CONSOLE_API.expire, async (_req, res) => {
      const parts = ready();
      await this.stripe(parts).apps.secrets.deleteWhere({ name: SECRET_NAMES.access, scope: { type: 'user', user: this.identity.user.id } }).catch(() => undefined);
      parts.invalidate(this.user);
      res.json({ expired: true });
    });
    // As if the user revoked the app at the provider: the next refresh finds the grant gone.
    app.post(CONSOLE_API.revoke, async (_req, res) => {
      const parts = ready();
      const secret = await this.stripe(parts).apps.secrets.find({ name: SECRET_NAMES.refresh, scope: { type: 'user', user: this.identity.user.id }, expand: ['payload'] }).catch(() => undefined);
      if (!secret?.payload) throw Object.assign(new Error('There is no refresh token to revoke.'), { status: 404 });
      const { refresh_token } = JSON.parse(parts.sealer.open(secret.payload, this.user, SECRET_NAMES.refresh)) as { refresh_token: string };
      const answer = await fetch(`${parts.issuer}/token/revocation`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: refresh_token, token_type_hint: 'refresh_token', client_id: parts.clientId }),
      });
      res.json({ revoked: answer.ok });
    });

    app.use((err: Error & { status?: number }, req: express.Request, res: express.Response, _next: express.NextFunction) => {
      // Error classes only: a Stripe error message can echo parameters.
      if (!err.status) console.error(`console: ${req.method} ${req.path} failed: ${describeError(err)}`);
      res.status(err.status ?? 500).json({ error: { message: err.status ? err.message : 'The console failed; see its terminal.' } });
    });
  }

  async close(): Promise<void> {
    await closeServer(this.server);
  }
}
