/**
 * Configuration from the environment (README, Configuration), over the broker's defaults.
 * `loadConfig` checks every variable and throws one ConfigError listing each missing or malformed
 * one (a line each, in the order below; a weak secret is malformed, secret-strength.ts);
 * `runCommand` (command.ts) prints them at start-up. Placeholders left from .env.example are refused
 * first (placeholders.ts); OAUTH_PRESET fills in the unset OAuth variables (preset-env.ts).
 */
import { getHeapStatistics } from 'node:v8';
import { type ConnectionScope, PROVIDER_NAME, type StripeMode } from '../src/common/connection-id';
import { MAX_SECRETS_PER_SCOPE } from '../src/common/token-layout';
import { isLoopbackUrl } from '../src/common/loopback';
import type { SignedOrder } from '../src/common/signed-request';
import { DEFAULTS, type RouteLimit } from './broker/defaults';
import type { RouteName } from './http/routes';
import type { ProviderOptions } from './broker/oauth-client';
import type { ApiKeyOptions } from './broker/providers';
import { type EventWebhook, parseWebhookSecrets } from './broker/event-delivery';
import { parseSealingKeys, type SealingKey } from './broker/token-sealing';
import { weakKey, weakText } from './secret-strength';
import { refusePlaceholders } from './placeholders';
import { withPreset } from './preset-env';

/** One problem per variable; `message` is them joined by newlines. */
export class ConfigError extends Error {
  readonly problems: string[];

  constructor(problems: string | string[]) {
    const list = typeof problems === 'string' ? [problems] : problems;
    super(list.join('\n'));
    this.problems = list;
  }
}

export interface Config {
  secretKeys: Partial<Record<StripeMode, string>>;
  appSigningSecret: string;
  appId: string;
  sealingKeys: SealingKey[];
  /** Set by the local stack only (never from the environment): http loopback redirect URIs, loopback Hosts only. */
  localStack: boolean;
  /** Whole-request limit; headers must arrive within min(10 s, this). */
  requestTimeoutSeconds: number;
  /** STRIPE_WEBHOOK_SECRET: one `whsec_…` per endpoint (test and live have their own); any of them verifies. */
  webhookSecrets?: string[];
  /** STRIPE_APPLICATION_ID (`ca_…`): deauthorizations of other applications are ignored. */
  applicationId?: string;
  /** STRIPE_SIGNATURE_ORDER: only this order of the signed JSON verifies. */
  signatureOrder?: SignedOrder;
  stripeApiBase?: string;
  /** The unnamed provider of the plain OAUTH_* variables, or the named ones of OAUTH_PROVIDERS (docs/services.md). */
  providers: ProviderConfig[];
  /** OAUTH_RETRY_ATTEMPTS: token-endpoint attempts (any provider's) while the provider processed nothing. */
  retryAttempts: number;
  /** LOCK_LEASE_MARGIN_SECONDS: the connection lock's lease beyond the provider's timeout × attempts. */
  lockLeaseMarginSeconds: number;
  refreshMarginSeconds: number;
  /** How long `/api/token` waits for a refresh before a 503 (the refresh goes on). */
  refreshWaitSeconds: number;
  /** Refresh connections idle this long (0: only those whose refresh token nears expiry). */
  keepAliveSeconds: number;
  /** PostgreSQL for several instances; unset means SQLite in DATA_DIR, one instance. */
  databaseUrl?: string;
  dataDir: string;
  /** ACCESS_CACHE_MB, in bytes: how much memory warm access tokens may take. */
  cacheBytes: number;
  /** SECRET_STORE_REQUESTS_PER_SECOND: the Secret Store budget per mode (shared by the fleet with PostgreSQL). */
  secretStoreRequestsPerSecond: Record<StripeMode, number>;
  /** SIGNED_ROUTE_LIMITS over the defaults: requests a minute per connection and per account, by route. */
  limits: Partial<Record<RouteName, RouteLimit>>;
  /** CONNECTION_SCOPE: each Dashboard user's own connection (`user`), or one per account (`account`). */
  connectionScope: ConnectionScope;
  /** Bearer token for GET /metrics; no metrics route without it. */
  metricsToken?: string;
  /** Bearer token for the admin API (`npm run connections`); no admin API without it. */
  adminToken?: string;
  /** EVENTS_WEBHOOK_URL and its secrets: connection events are recorded and delivered there. */
  events?: EventWebhook;
  host: string;
  port: number;
  logLevel: string;
}

/** One provider's settings: `OAUTH_<SUFFIX>` for the unnamed one, `OAUTH_<NAME>_<SUFFIX>` for a named one. */
export interface ProviderConfig {
  /** Absent for the unnamed provider. */
  name?: string;
  /** The provider's API, for `/api/proxy` and server-side calls as a connection. */
  api: { bases: URL[]; forwardHeaders: string[]; maxRequestBytes: number; maxResponseBytes: number; timeoutSeconds: number };
  /** Only with KIND=oauth (the default). */
  oauth?: ProviderOptions;
  defaultAccessLifetimeSeconds: number;
  /** Only with KIND=api_key. */
  apiKey?: ApiKeyOptions;
}

type Env = Record<string, string | undefined>;

function optional(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

function required(env: Env, name: string): string {
  const value = optional(env, name);
  if (!value) throw new ConfigError(`${name} is not set`);
  return value;
}

function url(env: Env, name: string): URL | undefined {
  const value = optional(env, name);
  if (!value) return undefined;
  try {
    const parsed = new URL(value);
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new Error();
    return parsed;
  } catch {
    throw new ConfigError(`${name} is not an http(s) URL`);
  }
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const value = optional(env, name);
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${name} must be a whole number from ${min} to ${max}`);
  return n;
}

/** A number of seconds to a tenth (`2`, `0.5`). */
function tenths(env: Env, name: string, fallback: number, min: number, max: number): number {
  const value = optional(env, name);
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+(\.\d)?$/.test(value) || n < min || n > max) throw new ConfigError(`${name} must be a number of seconds from ${min} to ${max}, to a tenth`);
  return n;
}

const KEY_MODE = /^(sk|rk)_(test|live)_[A-Za-z0-9]+$/;

function secretKeys(env: Env): Config['secretKeys'] {
  const keys: Config['secretKeys'] = {};
  for (const [name, mode] of [['STRIPE_SECRET_KEY_TEST', 'test'], ['STRIPE_SECRET_KEY_LIVE', 'live']] as const) {
    const key = optional(env, name);
    if (!key) continue;
    if (KEY_MODE.exec(key)?.[2] !== mode) throw new ConfigError(`${name} must be a ${mode}-mode secret or restricted key (sk_${mode}_… or rk_${mode}_…)`);
    keys[mode] = key;
  }
  const fallback = optional(env, 'STRIPE_SECRET_KEY');
  if (fallback) {
    const mode = KEY_MODE.exec(fallback)?.[2] as StripeMode | undefined;
    if (!mode) throw new ConfigError('STRIPE_SECRET_KEY must be a secret or restricted key (sk_test_…, sk_live_…, rk_…)');
    keys[mode] ??= fallback;
  }
  if (!keys.test && !keys.live) throw new ConfigError('STRIPE_SECRET_KEY_TEST or STRIPE_SECRET_KEY_LIVE (or STRIPE_SECRET_KEY) is not set');
  return keys;
}

/** The Stripe API over https; http only on loopback (the local Secret Store emulator). */
function stripeApiBase(env: Env): string | undefined {
  const base = url(env, 'STRIPE_API_BASE');
  if (base && base.protocol !== 'https:' && !isLoopbackUrl(base)) throw new ConfigError('STRIPE_API_BASE must be https (http only for a loopback emulator): the secret key travels with every request');
  return base?.toString();
}

/** PostgreSQL off this machine needs TLS (`sslmode` in the URL), unless DATABASE_SSL=off says the network is trusted. */
function databaseUrl(env: Env): string | undefined {
  const value = optional(env, 'DATABASE_URL');
  if (!value) return undefined;
  if (!/^postgres(ql)?:\/\//.test(value) || !URL.canParse(value)) throw new ConfigError('DATABASE_URL must be a postgres:// URL');
  const parsed = new URL(value);
  const ssl = optional(env, 'DATABASE_SSL');
  if (ssl !== undefined && ssl !== 'off') throw new ConfigError('DATABASE_SSL must be off (or unset)');
  const loopback = isLoopbackUrl(parsed) || parsed.hostname === '';
  if (!loopback && !parsed.searchParams.has('sslmode') && ssl !== 'off') {
    throw new ConfigError('DATABASE_URL reaches another host without TLS: add ?sslmode=verify-full (or require), or set DATABASE_SSL=off for a trusted network');
  }
  return value;
}

/** `<prefix>API_BASE_URL` (`name`): comma-separated base URLs, https (http on loopback only, as the local stack's). */
function apiBases(env: Env, name: string): URL[] {
  return (optional(env, name) ?? '').split(',').map((part) => part.trim()).filter(Boolean).map((part) => {
    const base = URL.canParse(part) ? new URL(part) : undefined;
    if (!base || !(base.protocol === 'https:' || (base.protocol === 'http:' && isLoopbackUrl(base))) || base.search || base.hash || base.username) {
      throw new ConfigError(`${name} must be https URLs (comma-separated), without a query, a fragment or credentials`);
    }
    return base;
  });
}

const HEADER_NAME = /^[a-z0-9-]{1,64}$/;

function forwardHeaders(env: Env, name: string): string[] {
  const names = (optional(env, name) ?? '').split(',').map((name) => name.trim().toLowerCase()).filter(Boolean);
  if (names.some((name) => !HEADER_NAME.test(name) || ['authorization', 'cookie', 'host', 'proxy-authorization'].includes(name))) {
    throw new ConfigError(`${name} must be header names (comma-separated), not Authorization, Cookie, Host or Proxy-Authorization`);
  }
  return names;
}

/** `token=120/2400,status=60/1200`: a route's requests a minute per connection / per account. */
function routeLimits(env: Env): Partial<Record<RouteName, RouteLimit>> {
  const limits: Partial<Record<RouteName, RouteLimit>> = {};
  for (const entry of (optional(env, 'SIGNED_ROUTE_LIMITS') ?? '').split(',').map((e) => e.trim()).filter(Boolean)) {
    const match = /^([a-z]+)=(\d{1,9})\/(\d{1,9})$/.exec(entry);
    if (!match || !Object.hasOwn(DEFAULTS.limits, match[1])) {
      throw new ConfigError(`SIGNED_ROUTE_LIMITS must be route=perConnection/perAccount entries (routes: ${Object.keys(DEFAULTS.limits).join(', ')})`);
    }
    limits[match[1] as RouteName] = { perConnection: Number(match[2]), perAccount: Number(match[3]), windowMs: 60_000 };
  }
  return limits;
}

/** `20` for both modes, or `test=20,live=80`. */
function secretStoreBudget(env: Env): Record<StripeMode, number> {
  const value = optional(env, 'SECRET_STORE_REQUESTS_PER_SECOND');
  const budget = { ...DEFAULTS.secretStoreRequestsPerSecond };
  if (value === undefined) return budget;
  const rate = (text: string) => {
    const n = Number(text);
    if (!/^\d{1,5}$/.test(text) || n < 1 || n > 10_000) throw new ConfigError('SECRET_STORE_REQUESTS_PER_SECOND must be a whole number from 1 to 10000, or test=N,live=M');
    return n;
  };
  if (!value.includes('=')) return { test: rate(value), live: rate(value) };
  for (const entry of value.split(',').map((e) => e.trim())) {
    const [mode, n] = entry.split('=');
    if (mode !== 'test' && mode !== 'live') throw new ConfigError('SECRET_STORE_REQUESTS_PER_SECOND must be a whole number from 1 to 10000, or test=N,live=M');
    budget[mode] = rate(n ?? '');
  }
  return budget;
}

const MB = 1024 * 1024;

/**
 * ACCESS_CACHE_MB, at most the heap's limit (more than the process could ever hold). The old
 * ACCESS_CACHE_ENTRIES is refused, not ignored: whoever set it learns at start-up that the bound changed.
 */
function accessCacheBytes(env: Env): number {
  if (optional(env, 'ACCESS_CACHE_ENTRIES') !== undefined) throw new ConfigError('ACCESS_CACHE_ENTRIES is replaced by ACCESS_CACHE_MB (the cache is bounded by memory)');
  return integer(env, 'ACCESS_CACHE_MB', DEFAULTS.cacheBytes / MB, 0, Math.floor(getHeapStatistics().heap_size_limit / MB)) * MB;
}

type Check = <T>(fn: () => T) => T | undefined;

/**
 * One provider's settings under `prefix` (`OAUTH_`, or `OAUTH_<NAME>_` for a named one), each
 * problem recorded by `check`. Named ones fall back to DEFAULT_ACCESS_TOKEN_LIFETIME_SECONDS.
 */
function providerConfig(env: Env, prefix: string, name: string | undefined, lifetime: number | undefined, check: Check): ProviderConfig {
  const v = (suffix: string) => `${prefix}${suffix}`;
  const kind = check(() => {
    const value = optional(env, v('KIND')) ?? 'oauth';
    if (value !== 'oauth' && value !== 'api_key') throw new ConfigError(`${v('KIND')} must be oauth or api_key`);
    if (value === 'api_key' && !name) throw new ConfigError(`${v('KIND')}=api_key is for a provider named in OAUTH_PROVIDERS`);
    return value;
  });
  const api = {
    bases: check(() => apiBases(env, v('API_BASE_URL'))),
    forwardHeaders: check(() => forwardHeaders(env, v('API_FORWARD_HEADERS'))),
    maxRequestBytes: check(() => integer(env, v('API_MAX_REQUEST_BYTES'), DEFAULTS.api.maxRequestBytes, 1024, 10 * 1024 * 1024)),
    maxResponseBytes: check(() => integer(env, v('API_MAX_RESPONSE_BYTES'), DEFAULTS.api.maxResponseBytes, 1024, 100 * 1024 * 1024)),
    timeoutSeconds: check(() => integer(env, v('API_TIMEOUT_SECONDS'), DEFAULTS.api.timeoutSeconds, 1, 120)),
  } as ProviderConfig['api'];
  const defaultAccessLifetimeSeconds = (name ? check(() => integer(env, v('DEFAULT_ACCESS_TOKEN_LIFETIME_SECONDS'), lifetime ?? 0, 60, 31 * 86_400)) : lifetime) as number;
  if (kind === 'api_key') return { name, api, defaultAccessLifetimeSeconds, apiKey: check(() => apiKeyOptions(env, v, api.bases)) };

  // Whether set, not whether valid: a malformed one is reported by its own check.
  if (!optional(env, v('ISSUER')) && !optional(env, v('TOKEN_ENDPOINT'))) check(() => { throw new ConfigError(`${v('ISSUER')} or ${v('TOKEN_ENDPOINT')} is not set`); });
  const oauth = {
    issuer: check(() => url(env, v('ISSUER'))),
    tokenEndpoint: check(() => url(env, v('TOKEN_ENDPOINT'))),
    revocationEndpoint: check(() => url(env, v('REVOCATION_ENDPOINT'))),
    clientId: check(() => required(env, v('CLIENT_ID'))),
    clientSecret: optional(env, v('CLIENT_SECRET')),
    clientAuth: check(() => {
      const auth = optional(env, v('CLIENT_AUTH')) ?? 'client_secret_post';
      if (auth !== 'client_secret_post' && auth !== 'client_secret_basic') throw new ConfigError(`${v('CLIENT_AUTH')} must be client_secret_post or client_secret_basic`);
      return auth;
    }),
    timeoutSeconds: check(() => integer(env, v('TIMEOUT_SECONDS'), DEFAULTS.providerTimeoutSeconds, 1, 120)),
  } as ProviderConfig['oauth'];
  return { name, api, oauth, defaultAccessLifetimeSeconds };
}

/** An API-key provider's header (Authorization with `Bearer `, or a header of its own) and its verify path. */
function apiKeyOptions(env: Env, v: (suffix: string) => string, bases: URL[] | undefined): ApiKeyOptions {
  if (bases?.length === 0) throw new ConfigError(`${v('API_BASE_URL')} is not set (an API-key provider is used through its API)`);
  const header = (optional(env, v('API_KEY_HEADER')) ?? 'authorization').toLowerCase();
  if (!HEADER_NAME.test(header) || ['cookie', 'host', 'proxy-authorization'].includes(header)) throw new ConfigError(`${v('API_KEY_HEADER')} must be a header name (not Cookie, Host or Proxy-Authorization)`);
  const verifyPath = optional(env, v('VERIFY_PATH'));
  if (!verifyPath || !/^\/[\x21-\x7e]{0,500}$/.test(verifyPath)) throw new ConfigError(`${v('VERIFY_PATH')} must be a path under the API base, starting with / (a GET that answers 401/403 to a bad key)`);
  return { header, prefix: header === 'authorization' ? 'Bearer ' : '', verifyPath };
}

/** Where a provider's variables are: `OAUTH_`, or `OAUTH_<NAME>_` for a named one. */
export const providerPrefix = (name?: string) => (name ? `OAUTH_${name.toUpperCase().replace(/-/g, '_')}_` : 'OAUTH_');

/** OAUTH_PROVIDERS: named providers, each `OAUTH_<NAME>_*` (upper-cased, - as _); unset: the one unnamed provider of OAUTH_*. */
function providerConfigs(env: Env, lifetime: number | undefined, check: Check): ProviderConfig[] {
  const list = optional(env, 'OAUTH_PROVIDERS');
  if (list === undefined) return [providerConfig(env, providerPrefix(), undefined, lifetime, check)];
  const names = list.split(',').map((n) => n.trim()).filter(Boolean);
  if (names.length === 0 || names.some((n) => !PROVIDER_NAME.test(n)) || new Set(names).size !== names.length) {
    check(() => { throw new ConfigError('OAUTH_PROVIDERS must be distinct names of 1-20 lowercase letters, digits and -, comma-separated'); });
    return [];
  }
  for (const plain of ['OAUTH_ISSUER', 'OAUTH_TOKEN_ENDPOINT', 'OAUTH_CLIENT_ID']) {
    if (optional(env, plain)) check(() => { throw new ConfigError(`${plain} is set, but OAUTH_PROVIDERS names the providers: set OAUTH_<NAME>_${plain.slice('OAUTH_'.length)} for each`); });
  }
  return names.map((name) => providerConfig(withPreset(env, providerPrefix(name)), providerPrefix(name), name, lifetime, check));
}

/**
 * The Secret Store's plan (docs/services.md): a scope holds 10 secrets. Each user's scope holds the
 * sign-in state, and two per OAuth provider in user scope; the account's holds two per OAuth
 * provider in account scope, and one per API-key provider.
 */
function checkSecretLayout(providers: ProviderConfig[], scope: ConnectionScope): void {
  const oauth = providers.filter((p) => !p.apiKey).length;
  const keys = providers.length - oauth;
  const user = 1 + (scope === 'user' ? 2 * oauth : 0);
  const account = (scope === 'account' ? 2 * oauth : 0) + keys;
  if (user > MAX_SECRETS_PER_SCOPE) throw new ConfigError(`OAUTH_PROVIDERS: ${oauth} OAuth providers need ${user} secrets in each user's Secret Store scope (two each, and the sign-in state); a scope holds ${MAX_SECRETS_PER_SCOPE}`);
  if (account > MAX_SECRETS_PER_SCOPE) throw new ConfigError(`OAUTH_PROVIDERS: these providers need ${account} secrets in each account's Secret Store scope (${scope === 'account' ? 'two per OAuth provider, ' : ''}one per API key); a scope holds ${MAX_SECRETS_PER_SCOPE}`);
}

function connectionScope(env: Env): ConnectionScope {
  const scope = optional(env, 'CONNECTION_SCOPE') ?? 'user';
  if (scope !== 'user' && scope !== 'account') throw new ConfigError('CONNECTION_SCOPE must be user or account (and match the manifest constant)');
  return scope;
}

function signatureOrder(env: Env): SignedOrder | undefined {
  const order = optional(env, 'STRIPE_SIGNATURE_ORDER');
  if (order !== undefined && order !== 'claims_first' && order !== 'ids_first') throw new ConfigError('STRIPE_SIGNATURE_ORDER must be claims_first or ids_first (the order your first signed request logged)');
  return order;
}

function bearerToken(env: Env, name: string): string | undefined {
  const token = optional(env, name);
  if (token === undefined) return undefined;
  if (token.length < 16 || /\s/.test(token)) throw new ConfigError(`${name} must be at least 16 characters, without spaces`);
  const weakness = weakText(token, 16);
  if (weakness) throw new ConfigError(`${name} is too weak: ${weakness}`);
  return token;
}

/** Characters after `absec_` or `whsec_`: Stripe's own secrets have 32. */
const STRIPE_SECRET_CHARS = 24;

/** A Stripe secret (`absec_…`, `whsec_…`): its prefix, then no placeholder or pattern. `label` names it, never the value. */
function stripeSecret(label: string, value: string, prefix: string, kind: string): string {
  if (!value.startsWith(prefix)) throw new ConfigError(`${label} must be ${kind} (${prefix}…)`);
  const weakness = weakText(value.slice(prefix.length), STRIPE_SECRET_CHARS);
  if (weakness) throw new ConfigError(`${label} is too weak: ${weakness} after ${prefix}`);
  return value;
}

/** STRIPE_WEBHOOK_SECRET: comma-separated, one per webhook endpoint (test and live each have their own). */
function stripeWebhookSecrets(env: Env): string[] | undefined {
  const entries = (optional(env, 'STRIPE_WEBHOOK_SECRET') ?? '').split(',').map((entry) => entry.trim()).filter(Boolean);
  const label = (i: number) => (entries.length > 1 ? `STRIPE_WEBHOOK_SECRET: entry ${i + 1}` : 'STRIPE_WEBHOOK_SECRET');
  return entries.length > 0 ? entries.map((entry, i) => stripeSecret(label(i), entry, 'whsec_', 'a webhook signing secret')) : undefined;
}

/** Keys (sealing keys, events secrets) must be random bytes; `label` names one in `name`, never its bytes. */
function randomKeys(name: string, keys: Array<{ label: string; key: Buffer }>): void {
  for (const { label, key } of keys) {
    const weakness = weakKey(key);
    if (weakness) throw new ConfigError(`${name}: ${label} is too weak: ${weakness}`);
  }
}

/** EVENTS_WEBHOOK_URL (https, or http on loopback) with EVENTS_WEBHOOK_SECRET; neither or both. */
function eventWebhook(env: Env): EventWebhook | undefined {
  const target = url(env, 'EVENTS_WEBHOOK_URL');
  const secret = optional(env, 'EVENTS_WEBHOOK_SECRET');
  if (!target) {
    if (secret) throw new ConfigError('EVENTS_WEBHOOK_SECRET is set but EVENTS_WEBHOOK_URL is not');
    return undefined;
  }
  if (target.protocol !== 'https:' && !isLoopbackUrl(target)) throw new ConfigError('EVENTS_WEBHOOK_URL must be https (http only on loopback)');
  if (!secret) throw new ConfigError('EVENTS_WEBHOOK_SECRET is not set (whsec_ and base64 of 24 to 64 random bytes)');
  let secrets: string[];
  try {
    secrets = parseWebhookSecrets(secret);
  } catch (err) {
    throw new ConfigError(`EVENTS_WEBHOOK_SECRET: ${(err as Error).message}`);
  }
  randomKeys('EVENTS_WEBHOOK_SECRET', secrets.map((entry, i) => ({ label: `entry ${i + 1}`, key: Buffer.from(entry.slice('whsec_'.length), 'base64') })));
  return {
    url: target,
    secrets,
    timeoutMs: integer(env, 'EVENTS_TIMEOUT_SECONDS', DEFAULTS.events.timeoutSeconds, 1, 60) * 1000,
    retrySeconds: integer(env, 'EVENTS_RETRY_HOURS', DEFAULTS.events.retryHours, 1, 720) * 3600,
  };
}

export function loadConfig(given: Env = process.env): Config {
  refusePlaceholders(given);
  const env = withPreset(given);
  const problems: string[] = [];
  /** Runs one variable's check; a ConfigError is recorded (giving undefined) and the checks go on. */
  const check = <T>(fn: () => T): T | undefined => {
    try {
      return fn();
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems.push(...err.problems);
      return undefined;
    }
  };

  const keys = check(() => secretKeys(env));
  const appSigningSecret = check(() => stripeSecret('STRIPE_APP_SIGNING_SECRET', required(env, 'STRIPE_APP_SIGNING_SECRET'), 'absec_', 'an app signing secret'));
  const appId = check(() => {
    const id = required(env, 'STRIPE_APP_ID');
    if (!/^[A-Za-z0-9_.-]{1,255}$/.test(id)) throw new ConfigError('STRIPE_APP_ID must be the app id of stripe-app.json (letters, digits, ., _ and -)');
    return id;
  });
  const sealingKeys = check(() => {
    const text = required(env, 'TOKEN_SEALING_KEYS');
    let keys: SealingKey[];
    try {
      keys = parseSealingKeys(text);
    } catch (err) {
      throw new ConfigError(`TOKEN_SEALING_KEYS: ${(err as Error).message}`);
    }
    randomKeys('TOKEN_SEALING_KEYS', keys.map(({ id, key }) => ({ label: `key ${id}`, key })));
    return keys;
  });
  const webhookSecrets = check(() => stripeWebhookSecrets(env));
  const applicationId = check(() => {
    const id = optional(env, 'STRIPE_APPLICATION_ID');
    if (id && !/^ca_[A-Za-z0-9]+$/.test(id)) throw new ConfigError('STRIPE_APPLICATION_ID must be the application id of your Stripe app (ca_…)');
    return id;
  });

  const lifetime = check(() => integer(env, 'DEFAULT_ACCESS_TOKEN_LIFETIME_SECONDS', DEFAULTS.defaultAccessLifetimeSeconds, 60, 31 * 86_400));
  const providers = providerConfigs(env, lifetime, check);
  const scope = check(() => connectionScope(env));
  if (scope) check(() => checkSecretLayout(providers, scope));

  const config = {
    secretKeys: keys,
    appSigningSecret,
    appId,
    sealingKeys,
    localStack: false,
    requestTimeoutSeconds: check(() => integer(env, 'HTTP_REQUEST_TIMEOUT_SECONDS', DEFAULTS.requestTimeoutSeconds, 1, 300)),
    webhookSecrets,
    applicationId,
    signatureOrder: check(() => signatureOrder(env)),
    stripeApiBase: check(() => stripeApiBase(env)),
    providers,
    retryAttempts: check(() => integer(env, 'OAUTH_RETRY_ATTEMPTS', DEFAULTS.providerRetry.attempts, 1, 5)),
    lockLeaseMarginSeconds: check(() => tenths(env, 'LOCK_LEASE_MARGIN_SECONDS', DEFAULTS.lockLeaseMarginSeconds, 0.5, 60)),
    refreshMarginSeconds: check(() => integer(env, 'REFRESH_MARGIN_SECONDS', DEFAULTS.refreshMarginSeconds, 0, 86_400)),
    refreshWaitSeconds: check(() => integer(env, 'REFRESH_WAIT_SECONDS', DEFAULTS.refreshWaitSeconds, 1, 120)),
    keepAliveSeconds: check(() => integer(env, 'KEEP_ALIVE_SECONDS', DEFAULTS.keepAliveIdleSeconds, 0, 365 * 86_400)),
    databaseUrl: check(() => databaseUrl(env)),
    dataDir: optional(env, 'DATA_DIR') ?? '.data',
    cacheBytes: check(() => accessCacheBytes(env)),
    secretStoreRequestsPerSecond: check(() => secretStoreBudget(env)),
    connectionScope: scope,
    limits: check(() => routeLimits(env)),
    metricsToken: check(() => bearerToken(env, 'METRICS_TOKEN')),
    adminToken: check(() => bearerToken(env, 'ADMIN_TOKEN')),
    events: check(() => eventWebhook(env)),
    host: optional(env, 'HOST') ?? '127.0.0.1',
    port: check(() => integer(env, 'PORT', 8787, 0, 65_535)),
    logLevel: optional(env, 'LOG_LEVEL') ?? 'info',
  };
  if (problems.length > 0) throw new ConfigError(problems);
  // Every check passed, so no value above is a failed check's undefined.
  return config as Config;
}
