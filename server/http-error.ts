/**
 * Errors the backend answers with: `{"error": {"code", "message"}}` and a fitting status.
 * Messages are written here, never copied from a provider or the Secret Store, so no token,
 * code or secret can reach a response body.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const badRequest = (message: string) => new HttpError(400, 'invalid_request', message);
export const notConnected = () => new HttpError(404, 'not_connected', 'No connection for this user; connect first.');
export const reconnectRequired = () =>
  new HttpError(409, 'reconnect_required', 'The provider no longer accepts this connection; connect again.');
export const providerUnavailable = () =>
  new HttpError(503, 'provider_unavailable', 'The OAuth provider is unavailable; try again shortly. Tokens were kept.');
export const providerRejected = () =>
  new HttpError(502, 'provider_rejected', 'The OAuth provider rejected the request; check the client configuration.');
export const secretStoreUnavailable = () =>
  new HttpError(503, 'secret_store_unavailable', 'The Stripe Secret Store is unavailable; try again shortly.');
