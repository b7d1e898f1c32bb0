/**
 * Errors as the HTTP edge answers them: `{"error": {"code", "message"}}` with the code's status.
 * The broker's codes (server/broker/errors.ts) get their statuses here, beside the codes only
 * the edge raises; the README's table is checked against this one.
 */
import { asBrokerError, type BrokerErrorCode } from '../broker/errors';

const EDGE_STATUS = {
  invalid_json: 400,
  invalid_webhook_signature: 400,
  invalid_signature: 401,
  unauthorized: 401,
  extension_exchange_disabled: 403,
  not_found: 404,
  event_in_progress: 409,
  body_too_large: 413,
  rate_limited: 429,
  internal_error: 500,
} as const;

const BROKER_STATUS: Record<BrokerErrorCode, number> = {
  invalid_request: 400,
  invalid_api_key: 400,
  invalid_code: 400,
  mode_not_configured: 400,
  not_connected: 404,
  reconnect_required: 409,
  provider_rejected: 502,
  token_too_large: 502,
  provider_unavailable: 503,
  secret_store_unavailable: 503,
  secret_store_busy: 503,
  busy: 503,
  refresh_pending: 503,
  registry_unavailable: 503,
  sealing_key_missing: 503,
  secret_store_full: 409,
  proxy_not_configured: 501,
  upstream_unreachable: 502,
  upstream_too_large: 502,
  upstream_timeout: 504,
};

export const ERROR_STATUS: Record<string, number> = { ...EDGE_STATUS, ...BROKER_STATUS };

type EdgeErrorCode = keyof typeof EDGE_STATUS;

export class HttpError extends Error {
  readonly status: number;

  constructor(
    readonly code: EdgeErrorCode | BrokerErrorCode,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.status = ERROR_STATUS[code];
  }
}

export const badRequest = (message: string) => new HttpError('invalid_request', message);

/** The answer for any error: the edge's own, the broker's with its status, a body parser's 4xx, else 500. */
export function errorAnswer(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  const broker = asBrokerError(err);
  if (broker) return new HttpError(broker.code, broker.message, broker.retryAfterSeconds);
  const parserError = err as { status?: number; type?: string };
  if (parserError.type === 'entity.parse.failed') return new HttpError('invalid_json', 'The body is not valid JSON.');
  if (parserError.type === 'entity.too.large') return new HttpError('body_too_large', 'The body is too large.');
  if (typeof parserError.status === 'number' && parserError.status >= 400 && parserError.status < 500) {
    return new HttpError('invalid_request', 'The request body could not be read.');
  }
  return new HttpError('internal_error', 'Something went wrong in the broker.');
}
