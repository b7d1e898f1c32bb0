/**
 * Validation of the four Secret Store operations' parameters (Stripe's API reference for `apps.secrets`), turning the
 * parsed form into typed values or a Stripe-shaped 400. Empty strings mean "not given",
 * as the SDK encodes `null` that way.
 */
import { FormObject, FormValue } from './form';
import { invalid, missingParam, unknownParam } from './errors';

const MAX_STRING = 5000;

export type Scope = { type: 'account' } | { type: 'user'; user: string };

function str(params: FormObject, key: string, required: true): string;
function str(params: FormObject, key: string, required: false): string | undefined;
function str(params: FormObject, key: string, required: boolean): string | undefined {
  const value = params[key];
  if (value === undefined || value === '') {
    if (required) throw missingParam(key);
    return undefined;
  }
  if (typeof value !== 'string') throw invalid(`Invalid ${key}: must be a string`, key);
  if (value.length > MAX_STRING) {
    throw invalid(`Invalid ${key}: must be at most ${MAX_STRING} characters`, key, 'parameter_invalid_string_too_long');
  }
  return value;
}

function int(params: FormObject, key: string): number | undefined {
  const raw = str(params, key, false);
  if (raw === undefined) return undefined;
  if (!/^-?\d{1,15}$/.test(raw)) throw invalid(`Invalid integer: ${raw.slice(0, 40)}`, key, 'parameter_invalid_integer');
  return Number(raw);
}

function scope(params: FormObject): Scope {
  const value = params.scope;
  if (value === undefined || value === '') throw missingParam('scope');
  if (typeof value !== 'object' || Array.isArray(value)) throw invalid('Invalid scope: must be an object', 'scope');
  for (const key of Object.keys(value)) if (key !== 'type' && key !== 'user') throw unknownParam(`scope[${key}]`);
  const type = value.type;
  if (type === undefined || type === '') throw missingParam('scope[type]');
  if (type !== 'account' && type !== 'user') {
    throw invalid('Invalid scope[type]: must be one of account or user', 'scope[type]');
  }
  const user = value.user;
  if (type === 'account') {
    if (user !== undefined && user !== '') throw invalid('scope[user] must not be set when scope[type] is account', 'scope[user]');
    return { type };
  }
  if (user === undefined || user === '') throw missingParam('scope[user]');
  if (typeof user !== 'string') throw invalid('Invalid scope[user]: must be a string', 'scope[user]');
  if (user.length > MAX_STRING) throw invalid(`Invalid scope[user]: must be at most ${MAX_STRING} characters`, 'scope[user]');
  return { type, user };
}

/** `expand` must name only paths this operation can expand; Stripe answers others with a 400. */
function expand(params: FormObject, allowed: string[]): boolean {
  const value: FormValue | undefined = params.expand;
  if (value === undefined || value === '') return false;
  if (!Array.isArray(value)) throw invalid('Invalid expand: must be a list', 'expand');
  for (const path of value) {
    if (typeof path !== 'string') throw invalid('Invalid expand: must be a list of strings', 'expand');
    if (!allowed.includes(path)) throw invalid(`This property cannot be expanded (${path.slice(0, 100)}).`, 'expand');
  }
  return value.length > 0;
}

function only(params: FormObject, keys: string[]): void {
  for (const key of Object.keys(params)) if (!keys.includes(key)) throw unknownParam(key);
}

export function createParams(params: FormObject) {
  only(params, ['name', 'payload', 'scope', 'expires_at', 'expand']);
  return {
    name: str(params, 'name', true),
    payload: str(params, 'payload', true),
    scope: scope(params),
    expiresAt: int(params, 'expires_at'),
    expandPayload: expand(params, ['payload']),
  };
}

export function findParams(params: FormObject) {
  only(params, ['name', 'scope', 'expand']);
  return { name: str(params, 'name', true), scope: scope(params), expandPayload: expand(params, ['payload']) };
}

export function deleteParams(params: FormObject) {
  only(params, ['name', 'scope', 'expand']);
  expand(params, []);
  return { name: str(params, 'name', true), scope: scope(params) };
}

export function listParams(params: FormObject) {
  only(params, ['scope', 'limit', 'starting_after', 'ending_before', 'expand']);
  const limit = int(params, 'limit') ?? 10;
  if (limit < 1 || limit > 100) throw invalid('Invalid limit: must be between 1 and 100', 'limit');
  const startingAfter = str(params, 'starting_after', false);
  const endingBefore = str(params, 'ending_before', false);
  if (startingAfter && endingBefore) {
    throw invalid('You may only specify one of these parameters: starting_after, ending_before.', 'ending_before');
  }
  return { scope: scope(params), limit, startingAfter, endingBefore, expandPayload: expand(params, ['data.payload']) };
}
