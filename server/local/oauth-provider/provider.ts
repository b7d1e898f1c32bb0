/**
 * The dev OAuth provider: oidc-provider with the two dev clients, refresh-token rotation,
 * short configurable lifetimes, revocation, introspection, a login/consent page, a small
 * bearer-protected API (api.ts) and SQLite persistence (grants, signing keys, cookie keys and
 * the API's notes survive a restart).
 */
import Database from 'better-sqlite3';
import express from 'express';
import { generateKeyPair, randomBytes } from 'node:crypto';
import http from 'node:http';
import { promisify } from 'node:util';
import type { JWK } from 'oidc-provider';
import { apiRoutes } from './api';
import { ApiKeyStore } from './api-keys';
import { NoteStore } from './notes';
import { DEV_SCOPES, devClients } from './clients';
import { interactionRoutes } from './interactions';
import { loadOidcProvider } from './load-oidc-provider';
import { createSqliteAdapterClass } from './sqlite-adapter';
import { TestControls } from './test-controls';
import { DEV_USERS } from './users';
import { loopbackHostsOnly } from '../../http/loopback-hosts';
import { closeServer } from '../../http/close-server';
import { listen } from '../../http/listen';

export interface DevProviderOptions {
  port?: number;
  /** SQLite file; in memory when omitted. */
  dbFile?: string;
  accessTokenTtlSeconds?: number;
  refreshTokenTtlSeconds?: number;
  rotateRefreshTokens?: boolean;
  redirectUris?: string[];
  /** Mounts the `/dev/` knobs of test-controls.ts. Never on by default. */
  testControls?: boolean;
}

export interface DevProvider {
  issuer: string;
  /**
   * A new API key of user `sub`, as they would make one on the provider's site (POST /api/keys
   * with their access token). In process only, for the offline console: no route mints keys
   * for a user who did not sign in.
   */
  issueApiKey(sub: string): string;
  close(): Promise<void>;
}

/**
 * Signing and cookie keys are made once and kept, so tokens and sessions outlive a restart. The
 * RSA key is made in the thread pool: a start goes on loading oidc-provider meanwhile.
 */
async function persistentKeys(db: Database.Database): Promise<{ jwks: { keys: JWK[] }; cookieKeys: string[] }> {
  db.exec('CREATE TABLE IF NOT EXISTS dev_provider_keys (name TEXT PRIMARY KEY, value TEXT NOT NULL)');
  const load = async (name: string, make: () => unknown) => {
    const row = db.prepare('SELECT value FROM dev_provider_keys WHERE name = ?').get(name) as { value: string } | undefined;
    if (row) return JSON.parse(row.value);
    const value = await make();
    db.prepare('INSERT INTO dev_provider_keys (name, value) VALUES (?, ?)').run(name, JSON.stringify(value));
    return value;
  };
  const jwks = await load('jwks', async () => {
    const { privateKey } = await promisify(generateKeyPair)('rsa', { modulusLength: 2048 });
    return { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: randomBytes(8).toString('hex'), use: 'sig', alg: 'RS256' }] };
  });
  const cookieKeys = await load('cookies', () => [randomBytes(32).toString('hex')]);
  return { jwks, cookieKeys };
}

export async function startDevProvider(options: DevProviderOptions = {}): Promise<DevProvider> {
  const db = new Database(options.dbFile ?? ':memory:');
  db.pragma('journal_mode = WAL');
  const [Provider, { jwks, cookieKeys }] = await Promise.all([loadOidcProvider(), persistentKeys(db)]);
  const refreshTtl = options.refreshTokenTtlSeconds ?? 14 * 24 * 3600;
  const keys = new ApiKeyStore(db);
  const notes = new NoteStore(db);
  const controls = new TestControls(options.rotateRefreshTokens ?? true, () => {
    notes.clear();
    keys.clear();
  });

  // The issuer needs the real port, so the server listens first and the routes come after.
  const app = express();
  app.disable('x-powered-by');
  const server = http.createServer(app);
  const issuer = `http://127.0.0.1:${await listen(server, options.port ?? 0, '127.0.0.1')}`;

  const provider = new Provider(issuer, {
    adapter: createSqliteAdapterClass(db),
    clients: devClients(options.redirectUris ?? []),
    jwks,
    cookies: { keys: cookieKeys },
    scopes: DEV_SCOPES,
    claims: { openid: ['sub'], profile: ['name'], email: ['email'] },
    features: {
      devInteractions: { enabled: false },
      // A client revokes and introspects only its own tokens (oidc-provider's defaults, stated so it does not warn).
      revocation: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
      introspection: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    rotateRefreshToken: () => controls.rotateRefreshTokens,
    ttl: {
      AccessToken: options.accessTokenTtlSeconds ?? 300,
      AuthorizationCode: 60,
      IdToken: 3600,
      RefreshToken: refreshTtl,
      Grant: refreshTtl,
      Interaction: 3600,
      Session: 24 * 3600,
    },
    findAccount: async (_ctx, sub) => {
      const user = Object.hasOwn(DEV_USERS, sub) ? DEV_USERS[sub] : undefined;
      if (!user) return undefined;
      return { accountId: sub, claims: async () => ({ sub, name: user.name, email: user.email }) };
    },
  });
  if (options.testControls) controls.install(provider);

  app.use(loopbackHostsOnly);
  if (options.testControls) app.use(controls.routes());
  app.use(apiRoutes(provider, notes, keys, options.testControls ? [controls.apiGate()] : []));
  app.use(interactionRoutes(provider));
  app.use(provider.callback());

  return {
    issuer,
    issueApiKey: (sub) => {
      if (!Object.hasOwn(DEV_USERS, sub)) throw new Error(`${sub} is not a dev provider user`);
      return keys.issue(sub);
    },
    close: async () => {
      await closeServer(server);
      db.close();
    },
  };
}
