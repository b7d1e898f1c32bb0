import {
  accessExpiry,
  decodeAccess,
  decodeRefresh,
  encodePayload,
  isDue,
  jwtExpiry,
  MalformedPayloadError,
  MAX_PAYLOAD_CHARS,
  refreshMargin,
  tokenPayloads,
  TokenTooLargeError,
} from '../../src/common/token-layout';

const NOW = 1_800_000_000;
const jwt = (claims: object) => `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;

describe('access expiry', () => {
  test('expires_in wins', () => {
    expect(accessExpiry({ now: NOW, accessToken: jwt({ exp: NOW + 999 }), expiresIn: 120, defaultLifetime: 3600 })).toEqual({ expiresAt: NOW + 120, lifetime: 120 });
  });
  test('without expires_in: the JWT exp, then the last known lifetime, then the default', () => {
    expect(accessExpiry({ now: NOW, accessToken: jwt({ exp: NOW + 900 }), defaultLifetime: 3600 })).toEqual({ expiresAt: NOW + 900, lifetime: 900 });
    expect(accessExpiry({ now: NOW, accessToken: 'opaque', lastLifetime: 600, defaultLifetime: 3600 })).toEqual({ expiresAt: NOW + 600, lifetime: 600 });
    expect(accessExpiry({ now: NOW, accessToken: 'opaque', defaultLifetime: 3600 })).toEqual({ expiresAt: NOW + 3600, lifetime: 3600 });
    expect(accessExpiry({ now: NOW, accessToken: jwt({ exp: NOW - 5 }), defaultLifetime: 3600 }).expiresAt).toBe(NOW + 3600);
  });
  test('jwtExpiry reads only well-formed numeric exp claims', () => {
    expect(jwtExpiry(jwt({ exp: 12.7 }))).toBe(12);
    expect(jwtExpiry(jwt({ exp: 'soon' }))).toBeUndefined();
    expect(jwtExpiry('a.%%%.c')).toBeUndefined();
    expect(jwtExpiry('not-a-jwt')).toBeUndefined();
  });
});

describe('refresh margin', () => {
  test('the configured margin, capped at half the lifetime so short tokens are not refreshed on every call', () => {
    expect(refreshMargin(3600, 300)).toBe(300);
    expect(refreshMargin(60, 300)).toBe(30);
    const access = { issued_at: NOW, expires_at: NOW + 60 };
    expect(isDue(access, NOW + 29, 300)).toBe(false);
    expect(isDue(access, NOW + 30, 300)).toBe(true);
    expect(isDue(access, NOW + 61, 300)).toBe(true);
  });
  test('jitter shortens the margin by at most a fifth', () => {
    const access = { issued_at: NOW, expires_at: NOW + 3600 };
    expect(isDue(access, NOW + 3300, 300, 0)).toBe(true);
    expect(isDue(access, NOW + 3300, 300, 0.99)).toBe(false);
    expect(isDue(access, NOW + 3360, 300, 0.99)).toBe(true);
  });
});

describe('payloads', () => {
  test('an exchange starts at generation 1; a refresh without refresh_token keeps the old one and its expiry', () => {
    const first = tokenPayloads({ access_token: 'a1', token_type: 'bearer', expires_in: 60, refresh_token: 'r1', refresh_token_expires_in: 86400 }, undefined, NOW, 3600);
    expect(first.access).toEqual({ v: 1, access_token: 'a1', token_type: 'bearer', issued_at: NOW, expires_at: NOW + 60, generation: 1 });
    expect(first.refresh).toEqual({ v: 1, refresh_token: 'r1', expires_at: NOW + 86400, generation: 1, refreshed_at: NOW, access_lifetime: 60 });
    const second = tokenPayloads({ access_token: 'a2', token_type: 'bearer' }, first.refresh, NOW + 100, 3600);
    expect(second.refresh).toMatchObject({ refresh_token: 'r1', expires_at: NOW + 86400, generation: 2 });
    expect(second.access.expires_at).toBe(NOW + 100 + 60);
  });
  test('a provider without refresh tokens stores null, not a missing field', () => {
    expect(tokenPayloads({ access_token: 'a', token_type: 'bearer' }, undefined, NOW, 3600).refresh.refresh_token).toBeNull();
  });
  test('round trip, and a payload over the store limit is an error, not a truncation', () => {
    const { access, refresh } = tokenPayloads({ access_token: 'a', token_type: 'bearer', refresh_token: 'r' }, undefined, NOW, 3600);
    expect(decodeAccess(encodePayload('oauth.access', access))).toEqual(access);
    expect(decodeRefresh(encodePayload('oauth.refresh', refresh))).toEqual(refresh);
    const huge = { ...access, access_token: 'x'.repeat(MAX_PAYLOAD_CHARS) };
    expect(() => encodePayload('oauth.access', huge)).toThrow(TokenTooLargeError);
  });
  test('foreign payloads are recognised as such', () => {
    expect(() => decodeAccess('plain-token')).toThrow(MalformedPayloadError);
    expect(() => decodeAccess('{"v":2}')).toThrow(MalformedPayloadError);
    expect(() => decodeRefresh('{"v":1,"generation":1}')).toThrow(MalformedPayloadError);
  });
});
