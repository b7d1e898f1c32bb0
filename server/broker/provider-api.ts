/**
 * Calling a provider's API as a connection — for the views (`POST /api/proxy`) and for the
 * template's own server code alike — so the access token (or API key) never has to leave the backend.
 *
 * The request's path is resolved under one of the connection's provider's API bases (OAUTH_API_BASE_URL) and
 * sent as it is written, and only when every common server reads it the same way (api-path.ts);
 * no redirect is followed (a 3xx comes back as it is); the token goes nowhere else. A 401 from
 * the API is answered with one refresh, through the refresh engine like any other, and one
 * retry — at most once per connection per cooldown: a refresh does not cure an API that keeps
 * refusing, and a storm of them costs the provider, the Secret Store and a rotation each. A 429
 * or 503 comes back as it is. An API-key provider's key is sent in its header, and a 401 to it
 * ends the connection (api-keys.ts): there is nothing to refresh. Only the named headers travel either way — never Authorization or
 * Set-Cookie back to the caller.
 */
import { connectionKey, type ConnectionId } from '../../src/common/connection-id';
import type { AccessPayload } from '../../src/common/token-layout';
import type { Logger } from '../logger';
import { ApiKeys } from './api-keys';
import { checkApiPath } from './api-path';
import { BrokerError } from './errors';
import type { Metrics } from './metrics';
import type { Provider, Providers } from './providers';
import { readLimited } from './read-limited';
import type { RefreshEngine } from './refresh-engine';

export type ApiMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
export const API_METHODS: readonly ApiMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

export interface ApiRequest {
  method: ApiMethod;
  /** Starts with `/`, relative to the API base. */
  path: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  /** JSON. */
  body?: unknown;
  /** One of the configured bases; the first when omitted. */
  base?: string;
}

/** The provider's answer, as the caller gets it: its status, allowlisted headers, and body (JSON when it is, else text). */
export interface ApiAnswer {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

export interface ProviderApiOptions {
  /** OAUTH_API_BASE_URL: https (http only on loopback under the local stack). */
  bases: URL[];
  /** Request header names (lowercase) a caller may set besides `accept` and `content-type`. */
  forwardHeaders: string[];
  maxResponseBytes: number;
  timeoutMs: number;
}

const REQUEST_HEADERS = ['accept', 'content-type'];
/** Answer headers passed back, by exact name: a pattern would pass whatever a provider names to match. */
const RESPONSE_HEADERS = new Set([
  'content-type', 'content-language', 'retry-after', 'location', 'etag', 'last-modified', 'link', 'x-request-id',
  'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'x-ratelimit-used',
  'ratelimit', 'ratelimit-policy', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset',
]);
/** A header value as HTTP carries it: printable ASCII, spaces and tabs; never CR or LF. */
const HEADER_VALUE = /^[\t\x20-\x7e]*$/;
/** Seconds, by the broker's clock, in which a connection's 401s cause no second refresh. */
export const REFRESH_COOLDOWN_SECONDS = 30;

const invalid = (message: string) => new BrokerError('invalid_request', message);

/** A refresh a 401 caused: when (the broker's clock), and the access token it gave (none if it failed). */
interface RejectionRefresh {
  at: number;
  access: Promise<AccessPayload | undefined>;
}

export class ProviderApi {
  /** The refreshes 401s caused within the cooldown, by connection. */
  private readonly rejectionRefreshes = new Map<string, RejectionRefresh>();

  constructor(
    private readonly engine: RefreshEngine,
    private readonly parts: { providers: Providers; apiKeys: ApiKeys; metrics: Metrics; logger: Logger; now: () => number },
  ) {}

  /** The URL the request may go to, or `invalid_request` for anything that could leave the base or be read two ways. */
  private resolve(options: ProviderApiOptions, request: ApiRequest): URL {
    const base = request.base === undefined ? options.bases[0] : options.bases.find((b) => b.href === request.base || b.href === `${request.base}/`);
    if (!base) throw request.base === undefined ? new BrokerError('proxy_not_configured', 'This backend has no OAUTH_API_BASE_URL.') : invalid('base must be one of the API bases this backend is configured with.');
    checkApiPath(request.path);
    const root = base.href.endsWith('/') ? base.href : `${base.href}/`;
    const url = new URL(root + request.path.slice(1));
    // Sent exactly as written: the URL parser changed nothing on the way.
    if (url.href !== root + request.path.slice(1)) throw invalid('path must stay under the API base as it is written.');
    for (const [name, value] of Object.entries(request.query ?? {})) url.searchParams.append(name, value);
    return url;
  }

  /** The caller's headers, checked before any token is read; the token's is added per attempt. */
  private headersOf(provider: Provider, request: ApiRequest): Headers {
    const { forwardHeaders } = provider.api;
    const headers = new Headers();
    for (const [name, value] of Object.entries(request.headers ?? {})) {
      const lower = name.toLowerCase();
      const credential = provider.kind === 'api_key' && lower === provider.apiKey.header;
      if (credential || (!REQUEST_HEADERS.includes(lower) && !forwardHeaders.includes(lower))) throw invalid(`the header ${name.slice(0, 64)} is not forwarded (allowed: ${[...REQUEST_HEADERS, ...forwardHeaders].join(', ')}).`);
      if (!HEADER_VALUE.test(value)) throw invalid(`the header ${lower} must be printable ASCII (no CR, LF or other control characters).`);
      headers.set(lower, value);
    }
    if (request.body !== undefined && !headers.has('content-type')) headers.set('content-type', 'application/json');
    return headers;
  }

  /**
   * One request to the API, the body read up to the limit, all within the timeout. An answer that
   * stalls or breaks off after its headers is the API's failure (504, 502), like one that never came.
   */
  private async send(provider: Provider, url: URL, method: ApiMethod, headers: Headers, body: string | undefined, accessToken: string): Promise<ApiAnswer> {
    const { timeoutMs, maxResponseBytes } = provider.api;
    const withToken = new Headers(headers);
    const [name, value] = provider.kind === 'api_key' ? ApiKeys.header(provider.apiKey, accessToken) : ['authorization', `Bearer ${accessToken}`];
    withToken.set(name, value);
    let response: Response;
    let text: string | undefined;
    try {
      response = await fetch(url, { method, headers: withToken, body, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
      text = await readLimited(response, maxResponseBytes);
    } catch (err) {
      if ((err as Error).name === 'TimeoutError') throw new BrokerError('upstream_timeout', `The provider's API did not answer within ${timeoutMs / 1000} s.`);
      throw new BrokerError('upstream_unreachable', "The provider's API could not be reached, or its answer broke off.");
    }
    if (text === undefined) throw new BrokerError('upstream_too_large', `The provider's answer is larger than ${maxResponseBytes} bytes.`);
    const answerHeaders: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      // A named header that carries the token anyway (an echo) stays behind.
      if (RESPONSE_HEADERS.has(name) && !value.includes(accessToken)) answerHeaders[name] = value;
    });
    let answerBody: unknown = text;
    if (/\bjson\b/.test(response.headers.get('content-type') ?? '')) {
      try {
        answerBody = JSON.parse(text);
      } catch {
        // Not JSON after all: the text as it came.
      }
    }
    return { status: response.status, headers: answerHeaders, body: answerBody };
  }

  /**
   * The token to retry with after the API refused `rejected` (401), or none: the 401 then goes
   * back as it came. A connection whose 401 caused a refresh within the cooldown gets no other —
   * a 401 meanwhile only waits for that refresh and retries with its token, if it gave a newer
   * one. (A token's own age is no reason to skip the refresh: a grant revoked just after a
   * refresh is found only by refreshing.)
   */
  private async afterRejection(connection: ConnectionId, rejected: string): Promise<AccessPayload | undefined> {
    const now = this.parts.now();
    const key = connectionKey(connection);
    const earlier = this.rejectionRefreshes.get(key);
    if (earlier && now - earlier.at < REFRESH_COOLDOWN_SECONDS) {
      const access = await earlier.access;
      return access && access.access_token !== rejected ? access : undefined;
    }
    for (const [other, { at }] of this.rejectionRefreshes) if (now - at >= REFRESH_COOLDOWN_SECONDS) this.rejectionRefreshes.delete(other);
    const refreshing = this.engine.refreshRejected(connection, rejected);
    this.rejectionRefreshes.set(key, { at: now, access: refreshing.catch(() => undefined) });
    // The caller whose 401 caused it gets its failure (`reconnect_required` when the grant is gone).
    return refreshing;
  }

  /**
   * The request, sent as the connection. A 401 means the provider may no longer take this access
   * token: one refresh (the engine's single-flight and lock; a lost grant is `reconnect_required`)
   * and one retry, within the cooldown (`afterRejection`).
   */
  async call(connection: ConnectionId, request: ApiRequest): Promise<ApiAnswer> {
    const provider = this.parts.providers.of(connection);
    const url = this.resolve(provider.api, request);
    const headers = this.headersOf(provider, request);
    const body = request.body === undefined ? undefined : JSON.stringify(request.body);
    const started = Date.now();
    const { metrics, logger } = this.parts;
    // The path only: a query can carry what the caller searched for.
    const line = { connection: connectionKey(connection), method: request.method, path: url.pathname };
    try {
      const byKey = provider.kind === 'api_key';
      const access = await (byKey ? this.parts.apiKeys.key(connection) : this.engine.accessToken(connection));
      let answer = await this.send(provider, url, request.method, headers, body, access.access_token);
      if (answer.status === 401 && byKey) await this.parts.apiKeys.rejected(connection, access.access_token);
      const retry = answer.status === 401 && !byKey ? await this.afterRejection(connection, access.access_token) : undefined;
      if (retry) answer = await this.send(provider, url, request.method, headers, body, retry.access_token);
      metrics.proxyRequests.inc({ status: `${Math.floor(answer.status / 100)}xx` });
      logger.info({ ...line, outcome: String(answer.status), latencyMs: Date.now() - started }, 'proxy');
      return answer;
    } catch (err) {
      const outcome = err instanceof BrokerError ? err.code : 'error';
      metrics.proxyRequests.inc({ status: outcome });
      // The API failing (unreachable, too slow, too large, broken off) is worth an operator's look.
      logger[outcome.startsWith('upstream_') ? 'warn' : 'info']({ ...line, outcome, latencyMs: Date.now() - started }, 'proxy');
      throw err;
    } finally {
      metrics.proxySeconds.observe((Date.now() - started) / 1000);
    }
  }
}
