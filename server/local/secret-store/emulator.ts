/**
 * A stateful, local emulator of the Stripe Secret Store API (`/v1/apps/secrets`), close
 * enough to the Secret Store's wire contract (Stripe's API reference for `apps.secrets`) that the official
 * `stripe` SDK, pointed at it with `host`/`port`/`protocol`, works unmodified.
 *
 * Partitions: the `Stripe-Account` header, else the key's own account (derived from the
 * key, so `sk_test_X` and `sk_live_X` share one account); the mode from the key prefix; the
 * scope and user from the request. Choices for what Stripe leaves unconfirmed are noted in
 * store.ts, operations.ts and faults.ts; in short:
 * - the 11th secret of a scope: 400 `secret_limit_exceeded`;
 * - parameter errors (ParameterError: 400s before an operation runs), 401s and injected
 *   faults are not stored as idempotent results; every answer of an operation that ran is
 *   (a 404 for a missing secret, the 10-limit error);
 * - list cursors that name no secret of the scope: 400 `resource_missing`.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import { FormError, FormObject, parseForm } from './form';
import { invalid, ParameterError, StripeApiError } from './errors';
import { Faults } from './faults';
import { Caller, createSecret, deleteSecret, findSecret, listSecrets } from './operations';
import { randomId, SecretStoreState } from './store';
import { HOST_REFUSED, isLoopbackHost } from '../../http/loopback-hosts';
import { closeServer } from '../../http/close-server';
import { listen } from '../../http/listen';

const MAX_BODY_BYTES = 1024 * 1024;
const KEY_PATTERN = /^(sk|rk)_(test|live)_([A-Za-z0-9]+)$/;

type Operation = (state: SecretStoreState, caller: Caller, form: FormObject) => object;

const ROUTES: Record<string, Operation> = {
  'POST /v1/apps/secrets': createSecret,
  'GET /v1/apps/secrets/find': findSecret,
  'POST /v1/apps/secrets/delete': deleteSecret,
  'GET /v1/apps/secrets': listSecrets,
};

export interface EmulatorOptions {
  /** SQLite file for persistent state; in memory when omitted. */
  dbFile?: string;
  /** Current time in unix seconds; injectable so tests can cross expiry boundaries. */
  now?: () => number;
}

class BodyTooLarge extends Error {}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.removeAllListeners('data');
        req.resume();
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** The API key from `Authorization: Bearer <key>` or Basic with the key as user name. */
function apiKey(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const [scheme, value = ''] = header.split(' ', 2);
  if (/^bearer$/i.test(scheme)) return value.trim();
  if (/^basic$/i.test(scheme)) return Buffer.from(value, 'base64').toString('utf8').split(':')[0];
  return undefined;
}

const maskKey = (key: string) => (key.length > 12 ? `${key.slice(0, 8)}…${key.slice(-4)}` : '…');
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

export class SecretStoreEmulator {
  readonly faults = new Faults();
  /** Requests received, by `METHOD /path` (also at `GET /_emulator/stats`). */
  readonly requests: Record<string, number> = {};
  readonly state: SecretStoreState;
  readonly server: http.Server;
  private readonly now: () => number;

  constructor(options: EmulatorOptions = {}) {
    this.state = new SecretStoreState(options.dbFile);
    this.now = options.now ?? (() => Math.floor(Date.now() / 1000));
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch(() => {
        if (!res.headersSent) this.send(res, 500, { error: { type: 'api_error', message: 'Internal emulator error.' } });
      });
    });
  }

  async listen(port = 0, host = '127.0.0.1'): Promise<string> {
    return `http://${host}:${await listen(this.server, port, host)}`;
  }

  async close(): Promise<void> {
    await closeServer(this.server);
    this.state.close();
  }

  private send(res: http.ServerResponse, status: number, body: object, extra: Record<string, string> = {}): void {
    res.writeHead(status, { 'Content-Type': 'application/json', ...extra });
    res.end(JSON.stringify(body));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    res.setHeader('Request-Id', randomId('req_', 14));
    // Not Stripe's: the emulator answers this machine only (a DNS-rebound page must not list secrets).
    if (!isLoopbackHost(req.headers.host)) return this.send(res, 421, { error: { type: 'invalid_request_error', message: HOST_REFUSED.message } });
    const url = new URL(req.url ?? '/', 'http://emulator');
    const route = `${req.method} ${url.pathname}`;
    // Not Stripe's: the emulator's own request counts, for the benchmark and tests.
    if (route === 'GET /_emulator/stats') return this.send(res, 200, { requests: this.requests });
    this.requests[route] = (this.requests[route] ?? 0) + 1;
    const operation = ROUTES[route];
    if (!operation) {
      const message = `Unrecognized request URL (${req.method}: ${url.pathname}).`;
      return this.send(res, 404, { error: { type: 'invalid_request_error', message } });
    }

    try {
      const key = apiKey(req.headers.authorization);
      if (!key) throw new StripeApiError(401, 'invalid_request_error', 'You did not provide an API key.');
      const keyMatch = KEY_PATTERN.exec(key);
      if (!keyMatch) throw new StripeApiError(401, 'invalid_request_error', `Invalid API Key provided: ${maskKey(key)}`);

      const accountHeader = req.headers['stripe-account'];
      if (accountHeader !== undefined && (typeof accountHeader !== 'string' || !/^acct_[A-Za-z0-9]{1,64}$/.test(accountHeader))) {
        throw invalid('Invalid Stripe-Account header: expected an account id like acct_123.', undefined, 'account_invalid');
      }
      const caller: Caller = {
        account: accountHeader ?? `acct_${sha256(keyMatch[3]).slice(0, 16)}`,
        livemode: keyMatch[2] === 'live',
        now: this.now(),
      };

      let form: FormObject;
      if (req.method === 'POST') {
        const body = await readBody(req);
        const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
        if (body !== '' && type !== 'application/x-www-form-urlencoded') {
          throw invalid(`Invalid request: expected a form-encoded body (application/x-www-form-urlencoded), got '${type.slice(0, 60)}'.`);
        }
        form = parseForm(body);
      } else {
        form = parseForm(url.search.slice(1));
      }

      const fault = this.faults.take(route, typeof form.name === 'string' ? form.name : undefined);
      const retryHeader: Record<string, string> = fault?.shouldRetry === undefined ? {} : { 'Stripe-Should-Retry': String(fault.shouldRetry) };
      // Unref'd: a delay still running when the emulator closes does not keep its process alive.
      if (fault?.delayMs !== undefined || fault?.kind === 'delay') await new Promise((resolve) => setTimeout(resolve, fault.delayMs ?? 1000).unref());
      if (fault?.kind === 'drop') return void req.socket.destroy();
      if (fault?.kind === 'http500') {
        return this.send(res, 500, { error: { type: 'api_error', message: 'An unknown error occurred (injected fault).' } }, retryHeader);
      }
      if (fault?.kind === 'http429') {
        const error = { type: 'invalid_request_error', code: 'rate_limit', message: 'Too many requests (injected fault).' };
        return this.send(res, 429, { error }, retryHeader);
      }

      const idempotencyKey = req.method === 'POST' ? req.headers['idempotency-key'] : undefined;
      if (typeof idempotencyKey === 'string' && idempotencyKey.length > 255) {
        throw invalid('Idempotency-Key must be at most 255 characters.', undefined, 'idempotency_key_too_long');
      }
      const owner = `${sha256(key)}|${caller.account}`;
      const fingerprint = sha256(`${route} ${JSON.stringify(form)}`);

      const result = this.state.transaction(() => {
        this.state.purge(caller.now);
        if (typeof idempotencyKey === 'string') {
          const stored = this.state.storedResult(owner, idempotencyKey);
          if (stored && stored.fingerprint !== fingerprint) {
            throw new StripeApiError(
              400,
              'idempotency_error',
              `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${idempotencyKey}' if you meant to execute a different request.`,
            );
          }
          if (stored) return { status: stored.status, body: stored.body, replayed: true };
        }
        let status = 200;
        let body: string;
        try {
          body = JSON.stringify(operation(this.state, caller, form));
        } catch (err) {
          if (!(err instanceof StripeApiError) || err instanceof ParameterError) throw err;
          status = err.status;
          body = JSON.stringify(err);
        }
        if (typeof idempotencyKey === 'string') this.state.storeResult(owner, idempotencyKey, { fingerprint, status, body }, caller.now);
        return { status, body, replayed: false };
      });

      if (fault?.kind === 'drop_after') return void req.socket.destroy();
      res.writeHead(result.status, {
        'Content-Type': 'application/json',
        ...(result.replayed ? { 'Idempotent-Replayed': 'true' } : {}),
      });
      res.end(result.body);
    } catch (err) {
      if (err instanceof BodyTooLarge) {
        return this.send(res, 413, { error: { type: 'invalid_request_error', message: `Request body larger than ${MAX_BODY_BYTES} bytes.` } });
      }
      if (err instanceof FormError) return this.send(res, 400, invalid(err.message, err.param).toJSON());
      if (err instanceof StripeApiError) return this.send(res, err.status, err.toJSON());
      throw err;
    }
  }
}
