/**
 * Signed calls from the extension to the broker backend: a JSON POST carrying the user,
 * account and mode, with the Dashboard's `Stripe-Signature` over them.
 */
import type { AppConfig } from './app-config';
import { dashboard } from './dashboard';
import type { StripeMode } from './redirect-uri';

export interface Caller {
  userId: string;
  accountId: string;
  mode: StripeMode;
}

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

export async function callBackend<T>(config: AppConfig, caller: Caller, path: string, fields: Record<string, string> = {}): Promise<T> {
  const signature = await dashboard().fetchStripeSignature({ mode: caller.mode });
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
