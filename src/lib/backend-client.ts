/**
 * Signed calls from the extension to the broker backend: a JSON POST carrying the user,
 * account, mode and the route's parameters, with the Dashboard's `Stripe-Signature` over the
 * claims of signed-request.ts (mode, route, hash of the parameters).
 */
import type { AppConfig } from './app-config';
import type { ConnectionId } from '../shared/connection-id';
import { dashboard } from './dashboard';
import { signatureClaims } from '../shared/signed-request';

export class BackendError extends Error {
  /** `status` 0: the backend could not be reached at all. */
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const TIMEOUT_MS = 20_000;

export async function callBackend<T>(config: AppConfig, caller: ConnectionId, path: string, fields: Record<string, string> = {}): Promise<T> {
  const signature = await dashboard().fetchStripeSignature(await signatureClaims(caller.mode, path, fields));
  let response: Response;
  try {
    response = await fetch(`${config.backendUrl}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Stripe-Signature': signature },
      body: JSON.stringify({ user_id: caller.userId, account_id: caller.accountId, mode: caller.mode, ...fields }),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch {
    throw new BackendError(0, 'backend_unreachable', `The broker backend at ${config.backendUrl} cannot be reached.`);
  }
  let body: { error?: { code?: string; message?: string } } & Record<string, unknown>;
  try {
    body = await response.json();
  } catch {
    throw new BackendError(response.status, 'bad_response', `The broker backend answered ${response.status} without JSON.`);
  }
  if (!response.ok) {
    throw new BackendError(response.status, body.error?.code ?? 'error', body.error?.message ?? `The broker backend answered ${response.status}.`);
  }
  return body as T;
}
