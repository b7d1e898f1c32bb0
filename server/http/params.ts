/**
 * A signed route's parameters, checked once the signature verifies (before that, a request is a
 * 401 whatever it carries): only the names the route declares, each of its kind — a string, an
 * object of strings, or a JSON value of bounded depth — and the nonce every signed request
 * carries. Anything else is a 400.
 */
import { badRequest } from './errors';

export type ParamKind = 'string' | 'strings' | 'json';

/** The route's parameters besides `nonce`; all optional here, the handler requires what it needs. */
export type ParamSpec = Record<string, ParamKind>;

const MAX_STRING = 4096;
const MAX_KEYS = 50;
const MAX_DEPTH = 20;
const NONCE = /^[A-Za-z0-9_-]{16,128}$/;

const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Depth of a JSON value, without recursion (a hostile body must not exhaust the stack). */
function depthWithin(value: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (typeof current !== 'object' || current === null) continue;
    if (depth >= limit) return false;
    for (const child of Object.values(current)) stack.push([child, depth + 1]);
  }
  return true;
}

const CHECKS: Record<ParamKind, (value: unknown) => boolean> = {
  string: (value) => typeof value === 'string' && value.length <= MAX_STRING,
  strings: (value) => isPlainObject(value) && Object.keys(value).length <= MAX_KEYS && Object.values(value).every((v) => typeof v === 'string' && v.length <= MAX_STRING),
  json: (value) => depthWithin(value, MAX_DEPTH),
};

const DESCRIPTIONS: Record<ParamKind, string> = {
  string: `a string of at most ${MAX_STRING} characters`,
  strings: `an object of at most ${MAX_KEYS} string values`,
  json: `JSON nested at most ${MAX_DEPTH} levels`,
};

/** Checks `params` against `spec`; returns the request's nonce. */
export function checkParams(params: Record<string, unknown>, spec: ParamSpec): string {
  const { nonce, ...rest } = params;
  if (typeof nonce !== 'string' || !NONCE.test(nonce)) throw badRequest('nonce must be a random string of 16-128 letters, digits, _ or - (a new one per request).');
  for (const [name, value] of Object.entries(rest)) {
    const kind = Object.hasOwn(spec, name) ? spec[name] : undefined;
    if (!kind) throw badRequest(`${name.slice(0, 64)} is not a parameter of this route.`);
    if (!CHECKS[kind](value)) throw badRequest(`${name} must be ${DESCRIPTIONS[kind]}.`);
  }
  return nonce;
}
