/**
 * The one catalogue of errors the backend answers with: `{"error": {"code", "message"}}` and
 * the code's status (the README's list is checked against it). Messages are written here or at
 * the throw, never copied from a provider or the Secret Store, so no token, code or secret can
 * reach a response body.
 */
export const ERROR_STATUS = {
  invalid_request: 400,
  invalid_json: 400,
  invalid_code: 400,
  invalid_webhook_signature: 400,
  mode_not_configured: 400,
  invalid_signature: 401,
  unauthorized: 401,
  extension_exchange_disabled: 403,
  not_found: 404,
  not_connected: 404,
  reconnect_required: 409,
  body_too_large: 413,
  rate_limited: 429,
  internal_error: 500,
  provider_rejected: 502,
  token_too_large: 502,
  provider_unavailable: 503,
  secret_store_unavailable: 503,
  busy: 503,
  refresh_pending: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class HttpError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.status = ERROR_STATUS[code];
  }
}

export const badRequest = (message: string) => new HttpError('invalid_request', message);
export const notConnected = () => new HttpError('not_connected', 'No connection for this user; connect first.');
export const reconnectRequired = () => new HttpError('reconnect_required', 'The provider no longer accepts this connection; connect again.');
export const providerUnavailable = () =>
  new HttpError('provider_unavailable', 'The OAuth provider is unavailable; try again shortly. Tokens were kept.');
export const providerRejected = () =>
  new HttpError('provider_rejected', 'The OAuth provider rejected the request; check the client configuration.');
export const secretStoreUnavailable = () =>
  new HttpError('secret_store_unavailable', 'The Stripe Secret Store is unavailable; try again shortly.');
export const busy = () => new HttpError('busy', 'Another operation on this connection is still running; try again shortly.');
export const refreshPending = () =>
  new HttpError('refresh_pending', 'The token is being refreshed and the provider is slow; try again shortly. Nothing was lost.');
