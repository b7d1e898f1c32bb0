/**
 * Calling the provider's API as a connection — for the views (`POST /api/proxy`) and for the
 * template's own server code alike — so the access token never has to leave the backend.
 *
 * The request's path is resolved under one of the configured API bases (OAUTH_API_BASE_URL) and
 * must stay there: no `..`, `//`, backslashes, `@`, encoded dots or separators, control
 * characters, queries or fragments in the path; no redirect is followed (a 3xx comes back as
 * it is); the token goes nowhere else. A 401 from the API is answered with one refresh, through
 * the refresh engine like any other, and one retry; a 429 or 503 comes back as it is. Only
 * allowlisted headers travel either way — never Authorization or Set-Cookie back to the caller.
 */
import { connectionKey, type ConnectionId } from '../../src/common/connection-id';
import type { Logger } from '../logger';
import { BrokerError } from './errors';
import type { Metrics } from './metrics';
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
const RESPONSE_HEADERS = /^(content-type|content-language|retry-after|location|etag|last-modified|link|x-request-id|(x-)?ratelimit-[a-z-]+)$/;
// Control characters are matched on purpose: they must never reach the provider.
// eslint-disable-next-line no-control-regex
const UNSAFE_PATH = /[\x00-\x1f\x7f\\@?#]|%(2e|2f|5c|00|3f|23)/i;

const invalid = (message: string) => new BrokerError('invalid_request', message);

export class ProviderApi {
  constructor(
    private readonly engine: RefreshEngine,
    private readonly parts: { metrics: Metrics; logger: Logger },
    private readonly options: ProviderApiOptions,
  ) {}

  get configured(): boolean {
    return this.options.bases.length > 0;
  }

  /** The URL the request may go to, or `invalid_request` for anything that could leave the base. */
  resolve(request: ApiRequest): URL {
    const base = request.base === undefined ? this.options.bases[0] : this.options.bases.find((b) => b.href === request.base || b.href === `${request.base}/`);
    if (!base) throw request.base === undefined ? new BrokerError('proxy_not_configured', 'This backend has no OAUTH_API_BASE_URL.') : invalid('base must be one of the API bases this backend is configured with.');
    const { path } = request;
    if (!path.startsWith('/') || path.startsWith('//') || UNSAFE_PATH.test(path) || path.split('/').some((segment) => segment === '.' || segment === '..')) {
      throw invalid('path must be a plain path under the API base (starting with one /, without .., //, \\, @, encoded separators, a query or a fragment).');
    }
    const root = base.href.endsWith('/') ? base.href : `${base.href}/`;
    const url = new URL(root + path.slice(1));
    if (url.origin !== base.origin || !url.href.startsWith(root)) throw invalid('path must stay under the API base.');
    for (const [name, value] of Object.entries(request.query ?? {})) url.searchParams.append(name, value);
    return url;
  }

  private headersFor(request: ApiRequest, accessToken: string): Headers {
    const headers = new Headers();
    for (const [name, value] of Object.entries(request.headers ?? {})) {
      const lower = name.toLowerCase();
      if (!REQUEST_HEADERS.includes(lower) && !this.options.forwardHeaders.includes(lower)) throw invalid(`the header ${name.slice(0, 64)} is not forwarded (allowed: ${[...REQUEST_HEADERS, ...this.options.forwardHeaders].join(', ')}).`);
      headers.set(lower, value);
    }
    if (request.body !== undefined && !headers.has('content-type')) headers.set('content-type', 'application/json');
    headers.set('authorization', `Bearer ${accessToken}`);
    return headers;
  }

  /** One request to the API; the body read up to the limit. */
  private async send(url: URL, request: ApiRequest, accessToken: string): Promise<ApiAnswer> {
    let response: Response;
    try {
      response = await fetch(url, {
        method: request.method,
        headers: this.headersFor(request, accessToken),
        body: request.body === undefined ? undefined : JSON.stringify(request.body),
        redirect: 'manual',
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch (err) {
      if ((err as Error).name === 'TimeoutError') throw new BrokerError('upstream_timeout', `The provider's API did not answer within ${this.options.timeoutMs / 1000} s.`);
      if (err instanceof BrokerError) throw err;
      throw new BrokerError('upstream_unreachable', "The provider's API could not be reached.");
    }
    const text = await readLimited(response, this.options.maxResponseBytes);
    if (text === undefined) throw new BrokerError('upstream_too_large', `The provider's answer is larger than ${this.options.maxResponseBytes} bytes.`);
    const headers: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      if (RESPONSE_HEADERS.test(name)) headers[name] = value;
    });
    let body: unknown = text;
    if (/\bjson\b/.test(response.headers.get('content-type') ?? '')) {
      try {
        body = JSON.parse(text);
      } catch {
        // Not JSON after all: the text as it came.
      }
    }
    return { status: response.status, headers, body };
  }

  /**
   * The request, sent as the connection. A 401 means the provider no longer takes this access
   * token: one refresh (the engine's single-flight and lock; a lost grant is `reconnect_required`)
   * and one retry.
   */
  async call(connection: ConnectionId, request: ApiRequest): Promise<ApiAnswer> {
    const url = this.resolve(request);
    const started = Date.now();
    const { metrics, logger } = this.parts;
    // The path only: a query can carry what the caller searched for.
    const line = { connection: connectionKey(connection), method: request.method, path: url.pathname };
    try {
      let access = await this.engine.accessToken(connection);
      let answer = await this.send(url, request, access.access_token);
      if (answer.status === 401) {
        access = await this.engine.refreshRejected(connection, access.access_token);
        answer = await this.send(url, request, access.access_token);
      }
      metrics.proxyRequests.inc({ status: `${Math.floor(answer.status / 100)}xx` });
      logger.info({ ...line, outcome: String(answer.status), latencyMs: Date.now() - started }, 'proxy');
      return answer;
    } catch (err) {
      const outcome = err instanceof BrokerError ? err.code : 'error';
      metrics.proxyRequests.inc({ status: outcome });
      logger.info({ ...line, outcome, latencyMs: Date.now() - started }, 'proxy');
      throw err;
    } finally {
      metrics.proxySeconds.observe((Date.now() - started) / 1000);
    }
  }
}
