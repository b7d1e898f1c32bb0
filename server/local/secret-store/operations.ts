/** The four Secret Store operations over the emulator's state (choices where Stripe is unconfirmed: in the comments below). */
import type { FormObject } from './form';
import { invalid, noSuchSecret, StripeApiError } from './errors';
import { createParams, deleteParams, findParams, listParams } from './params';
import { MAX_SECRETS_PER_SCOPE, Partition, randomId, SecretRow, SecretStoreState } from './store';

const HUNDRED_YEARS = 100 * 366 * 24 * 3600;

export interface Caller {
  account: string;
  livemode: boolean;
  now: number;
}

function secretObject(row: SecretRow, p: Partition, withPayload: boolean) {
  return {
    id: row.id,
    object: 'apps.secret',
    created: row.created,
    expires_at: row.expires_at,
    livemode: p.livemode,
    name: row.name,
    scope: p.scope.type === 'user' ? { type: 'user', user: p.scope.user } : { type: 'account' },
    ...(withPayload ? { payload: row.payload } : {}),
  };
}

const partition = (caller: Caller, scope: Partition['scope']): Partition => ({
  account: caller.account,
  livemode: caller.livemode,
  scope,
});

export function createSecret(state: SecretStoreState, caller: Caller, form: FormObject) {
  const params = createParams(form);
  const expiresAt = params.expiresAt ?? null;
  if (expiresAt !== null && expiresAt <= caller.now) throw invalid('expires_at must be in the future', 'expires_at');
  if (expiresAt !== null && expiresAt > caller.now + HUNDRED_YEARS) {
    throw invalid('expires_at must be at most 100 years in the future', 'expires_at');
  }
  const p = partition(caller, params.scope);
  const existing = state.find(p, params.name);
  if (existing) {
    state.replace(existing.seq, params.payload, expiresAt);
    return secretObject({ ...existing, payload: params.payload, expires_at: expiresAt }, p, params.expandPayload);
  }
  if (state.count(p) >= MAX_SECRETS_PER_SCOPE) {
    throw new StripeApiError(
      400,
      'invalid_request_error',
      `This scope already holds the maximum of ${MAX_SECRETS_PER_SCOPE} secrets; delete one before adding another.`,
      'secret_limit_exceeded',
    );
  }
  const row = state.insert(p, {
    id: randomId('appsecret_', 30),
    name: params.name,
    payload: params.payload,
    created: caller.now,
    expires_at: expiresAt,
  });
  return secretObject(row, p, params.expandPayload);
}

export function findSecret(state: SecretStoreState, caller: Caller, form: FormObject) {
  const params = findParams(form);
  const p = partition(caller, params.scope);
  const row = state.find(p, params.name);
  if (!row) throw noSuchSecret(params.name);
  return secretObject(row, p, params.expandPayload);
}

/** The delete answer follows the API reference example: only `id`, `object` and `deleted`. */
export function deleteSecret(state: SecretStoreState, caller: Caller, form: FormObject) {
  const params = deleteParams(form);
  const row = state.find(partition(caller, params.scope), params.name);
  if (!row) throw noSuchSecret(params.name);
  state.delete(row.seq);
  return { id: row.id, object: 'apps.secret', deleted: true };
}

export function listSecrets(state: SecretStoreState, caller: Caller, form: FormObject) {
  const params = listParams(form);
  const p = partition(caller, params.scope);
  const cursorSeq = (id: string | undefined, param: string) => {
    if (id === undefined) return undefined;
    const seq = state.seqOf(p, id);
    if (seq === undefined) throw invalid(`No such secret: '${id}'`, param, 'resource_missing');
    return seq;
  };
  const { rows, hasMore } = state.page(p, params.limit, {
    after: cursorSeq(params.startingAfter, 'starting_after'),
    before: cursorSeq(params.endingBefore, 'ending_before'),
  });
  return {
    object: 'list',
    url: '/v1/apps/secrets',
    has_more: hasMore,
    data: rows.map((row) => secretObject(row, p, params.expandPayload)),
  };
}
