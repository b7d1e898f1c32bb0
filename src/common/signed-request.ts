/**
 * What a signed request to the backend signs, shared by the extension and the backend.
 * The extension asks the Dashboard for `fetchStripeSignature(claims)` with
 * `claims = {mode, action, params_sha256}`; the body it sends is `{user_id, account_id, mode,
 * ...params}`. So a signature is good for one user, account and mode, one route, and one set of
 * parameters — and the parameters themselves (codes, verifiers) never travel to Stripe, only
 * their hash does.
 */
import type { StripeMode } from './connection-id';

/**
 * The order of the signed JSON: Stripe documents the claims first (`claims_first`); its server
 * code is not public, so the ids first (`ids_first`) is the other plausible one.
 */
export type SignedOrder = 'claims_first' | 'ids_first';

export interface SignatureClaims {
  mode: StripeMode;
  /** The route path, e.g. `/api/token`. */
  action: string;
  /** Hex SHA-256 of `canonicalParams(params)`. */
  params_sha256: string;
}

/** `JSON.stringify` of the parameters with their keys sorted; `{}` when there are none. */
export function canonicalParams(params: Record<string, unknown>): string {
  return JSON.stringify(Object.fromEntries(Object.keys(params).sort().map((key) => [key, params[key]])));
}

const hex = (bytes: ArrayBuffer) => Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');

/** Hex SHA-256 of a text: the Dashboard's sandbox has WebCrypto only; the backend passes Node's (synchronous, off the thread pool). */
export type Sha256Hex = (text: string) => string | Promise<string>;

const webCryptoSha256: Sha256Hex = async (text) => hex(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));

export async function signatureClaims(mode: StripeMode, action: string, params: Record<string, unknown>, sha256: Sha256Hex = webCryptoSha256): Promise<SignatureClaims> {
  return { mode, action, params_sha256: await sha256(canonicalParams(params)) };
}
