/**
 * Signed calls from the extension to the broker backend: a JSON POST carrying the user,
 * account, mode and the route's parameters (with a fresh nonce), with the Dashboard's
 * `Stripe-Signature` over the claims of src/common/signed-request.ts (mode, route, hash of the parameters).
 */
import type { AppConfig } from './app-config';
import { type DashboardUserId, toWire } from '../common/connection-id';
import { dashboard } from './dashboard';
import { signatureClaims } from '../common/signed-request';

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

/** 128 random bits as hex, from WebCrypto (the Dashboard's sandbox has nothing else). */
export function randomNonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * A signed POST, for the provider `config` names (none: the backend's one unnamed provider); its
 * fresh nonce (signed with the rest) makes the signature good for this one request.
 */
export async function callBackend<T>(config: Pick<AppConfig, 'backendUrl' | 'name'>, caller: DashboardUserId, path: string, fields: Record<string, unknown> = {}): Promise<T> {
  const params = { ...(config.name && { provider: config.name }), ...fields, nonce: randomNonce() };
  const signature = await dashboard().fetchStripeSignature(await signatureClaims(caller.mode, path, params));
  let response: Response;
  try {
    response = await fetch(`${config.backendUrl}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Stripe-Signature': signature },
      body: JSON.stringify({ ...toWire(caller), ...params }),
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
