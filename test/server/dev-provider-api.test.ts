import * as client from 'openid-client';
import { PUBLIC_CLIENT_ID } from '../../server/local/oauth-provider/clients';
import { discover, exchange, type ProviderStats, startTestProvider, type TestProvider } from '../support/dev-provider';
import { eventually } from '../support/fixtures';

interface Call {
  token?: string;
  method?: string;
  /** Sent as JSON unless `headers` name another content type. */
  body?: string;
  headers?: Record<string, string>;
}

/** One API request; the answer's body parsed as JSON (so a non-JSON answer fails the test). */
async function call(issuer: string, path: string, { token, method = 'GET', body, headers = {} }: Call = {}) {
  const res = await fetch(`${issuer}${path}`, {
    method,
    body,
    headers: { ...(token && { authorization: `Bearer ${token}` }), ...(body && { 'content-type': 'application/json' }), ...headers },
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

describe('dev provider API', () => {
  let provider: TestProvider;
  /** Grants that end after 2 s while their access tokens live 5 minutes. */
  let shortGrants: TestProvider;
  let publicClient: client.Configuration;

  beforeAll(async () => {
    [provider, shortGrants] = await Promise.all([startTestProvider(['--access-ttl', '2']), startTestProvider(['--refresh-ttl', '2'])]);
    publicClient = await discover(provider.issuer, PUBLIC_CLIENT_ID);
  });
  afterAll(() => Promise.all([provider?.stop(), shortGrants?.stop()]));

  const api = (path: string, init?: Call) => call(provider.issuer, path, init);
  const tokenOf = async (user: string, config = publicClient) => (await exchange(config, { user })).access_token;
  const addNote = (token: string, text: string) => api('/api/notes', { token, method: 'POST', body: JSON.stringify({ text }) });

  test("me and notes are the token subject's own: alice's notes are invisible to bob", async () => {
    const [alice, bob] = await Promise.all([tokenOf('alice'), tokenOf('bob')]);
    // As the userinfo endpoint: the name with `profile`; no `email` scope, no e-mail address.
    expect(await api('/api/me', { token: alice })).toMatchObject({ status: 200, body: { sub: 'alice', name: 'Alice Example' } });
    expect((await api('/api/me', { token: bob })).body).toEqual({ sub: 'bob', name: 'Bob Example' });
    const first = await addNote(alice, 'first');
    expect(first).toMatchObject({ status: 201, body: { id: expect.any(String), text: 'first' } });
    expect(Math.abs(first.body.created - Date.now() / 1000)).toBeLessThan(5);
    const second = (await addNote(alice, 'second')).body;
    expect((await api('/api/notes', { token: alice })).body).toEqual({ data: [second, first.body] });
    expect((await api('/api/notes', { token: bob })).body).toEqual({ data: [] });
    expect(await api(`/api/notes/${first.body.id}`, { token: bob, method: 'DELETE' })).toMatchObject({ status: 404, body: { error: 'not_found' } });
    expect(await api(`/api/notes/${first.body.id}`, { token: alice, method: 'DELETE' })).toMatchObject({ status: 204, body: undefined });
    expect(await api(`/api/notes/${first.body.id}`, { token: alice, method: 'DELETE' })).toMatchObject({ status: 404, body: { error: 'not_found' } });
    expect((await api('/api/notes', { token: alice })).body).toEqual({ data: [second] });
  });

  test('401 invalid_token without a token, with a wrong one, and once the refresh token is revoked', async () => {
    const tokens = await exchange(publicClient);
    const refused = [
      await api('/api/me'),
      await api('/api/me', { headers: { authorization: `Basic ${Buffer.from('alice:dev-password').toString('base64')}` } }),
      await api('/api/me', { token: 'not-a-token-of-this-provider' }),
    ];
    for (const answer of refused) {
      expect(answer).toMatchObject({ status: 401, body: { error: 'invalid_token', error_description: expect.any(String) } });
      expect(answer.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    }
    expect((await api('/api/me', { token: tokens.access_token })).status).toBe(200);
    await client.tokenRevocation(publicClient, tokens.refresh_token!, { token_type_hint: 'refresh_token' });
    // oidc-provider revokes the whole grant: the access token is gone from its store, not only refused here.
    expect((await client.tokenIntrospection(publicClient, tokens.access_token)).active).toBe(false);
    const revoked = await api('/api/me', { token: tokens.access_token });
    expect(revoked).toMatchObject({ status: 401, body: { error: 'invalid_token' } });
    expect(JSON.stringify(revoked)).not.toContain(tokens.access_token);
  });

  test('401 once the access token expired, or its grant ended before it', async () => {
    const [expiring, orphaned] = await Promise.all([tokenOf('alice'), tokenOf('alice', await discover(shortGrants.issuer, PUBLIC_CLIENT_ID))]);
    expect((await api('/api/me', { token: expiring })).status).toBe(200);
    expect((await call(shortGrants.issuer, '/api/me', { token: orphaned })).status).toBe(200);
    // Each refused once its 2 s are up: the access token's, the grant's.
    const refused = (issuer: string, token: string) => eventually(async () => (await call(issuer, '/api/me', { token })).status === 401, 10_000);
    expect(await refused(provider.issuer, expiring)).toBe(true);
    expect(await api('/api/me', { token: expiring })).toMatchObject({ status: 401, body: { error: 'invalid_token', error_description: expect.stringMatching(/expired/) } });
    // The access token itself is still stored and unexpired: only the grant check refuses it.
    expect(await refused(shortGrants.issuer, orphaned)).toBe(true);
    expect(await call(shortGrants.issuer, '/api/me', { token: orphaned })).toMatchObject({ status: 401, body: { error: 'invalid_token', error_description: expect.stringMatching(/grant/) } });
  });

  test('test controls: API faults (401 once, 429 and 503 with Retry-After, slow) and the calls counted', async () => {
    const token = await tokenOf('alice');
    await provider.control('/dev/reset', {});
    await provider.control('/dev/api-faults', { kind: 'http401' });
    expect(await api('/api/me', { token })).toMatchObject({ status: 401, body: { error: 'invalid_token' } });
    expect((await api('/api/me', { token })).status).toBe(200);
    await provider.control('/dev/api-faults', { kind: 'http429', retryAfter: 5 });
    const limited = await api('/api/me', { token });
    expect(limited).toMatchObject({ status: 429, body: { error: 'rate_limited' } });
    expect(limited.headers.get('retry-after')).toBe('5');
    await provider.control('/dev/api-faults', { kind: 'http503' });
    const down = await api('/api/notes', { token });
    expect(down).toMatchObject({ status: 503, body: { error: 'temporarily_unavailable' } });
    expect(down.headers.get('retry-after')).toBe('2');
    await provider.control('/dev/api-faults', { kind: 'slow', delayMs: 300 });
    const started = Date.now();
    expect((await api('/api/notes', { token })).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    const stats = (await provider.control('/dev/stats')) as ProviderStats;
    expect(stats.api).toEqual({ 'GET /api/me': { 200: 1, 401: 1, 429: 1 }, 'GET /api/notes': { 200: 1, 503: 1 } });
    await expect(provider.control('/dev/api-faults', { kind: 'http500' })).rejects.toThrow(/400/);
  });

  test('bad input answers JSON (400, 413, 404); CORS lets a sandboxed iframe (Origin: null) call', async () => {
    const token = await tokenOf('alice');
    const post = (body: string, type = 'application/json') => api('/api/notes', { token, method: 'POST', body, headers: { 'content-type': type } });
    const bad = [
      await post('{"text":'),
      await post('["text"]'),
      await post('{"text":""}'),
      await post(JSON.stringify({ text: 'x'.repeat(501) })),
      await post('{"text":"hi"}', 'text/plain'),
    ];
    for (const answer of bad) expect(answer).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    expect(await post(JSON.stringify({ text: 'x'.repeat(17 * 1024) }))).toMatchObject({ status: 413, body: { error: 'request_too_large' } });
    expect(await api('/api/nothing-here', { token })).toMatchObject({ status: 404, body: { error: 'not_found' } });

    const preflight = await fetch(`${provider.issuer}/api/notes`, {
      method: 'OPTIONS',
      headers: { origin: 'null', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
    expect(preflight.status).toBe(204);
    expect(Object.fromEntries(preflight.headers)).toMatchObject({
      'access-control-allow-origin': '*',
      'access-control-allow-methods': 'GET, POST, DELETE',
      'access-control-allow-headers': 'Authorization, Content-Type',
    });
    const answer = await api('/api/me', { token, headers: { origin: 'null' } });
    expect(answer.headers.get('access-control-allow-origin')).toBe('*');
  });
});
