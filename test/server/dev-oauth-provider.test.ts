import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as client from 'openid-client';
import {
  CONFIDENTIAL_CLIENT_ID,
  CONFIDENTIAL_CLIENT_SECRET,
  PUBLIC_CLIENT_ID,
  TEST_REDIRECT_URI,
} from '../../server/local/oauth-provider/clients';
import { startCommand } from '../support/commands';
import { codeFlow, discover, exchange, startTestProvider, TEST_SCOPE, TestProvider } from '../support/dev-provider';
import { eventually } from '../support/fixtures';
import { authorizeInProvider } from '../support/user-agent';

async function grantError(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (err) {
    return (err as client.ResponseBodyError).error;
  }
  throw new Error('expected the grant to fail');
}

describe('dev OAuth provider', () => {
  let provider: TestProvider;
  let publicClient: client.Configuration;

  beforeAll(async () => {
    provider = await startTestProvider(['--access-ttl', '2']);
    publicClient = await discover(provider.issuer, PUBLIC_CLIENT_ID);
  });
  afterAll(() => provider.stop());

  test('publishes S256 PKCE, revocation and introspection in its discovery document', () => {
    const meta = publicClient.serverMetadata();
    expect(meta.code_challenge_methods_supported).toEqual(['S256']);
    expect(meta.revocation_endpoint).toBe(`${provider.issuer}/token/revocation`);
    expect(meta.introspection_endpoint).toBe(`${provider.issuer}/token/introspection`);
  });

  test('code + PKCE gives a short-lived access token, a refresh token and the user', async () => {
    const tokens = await exchange(publicClient, { user: 'bob' });
    expect(tokens.token_type).toBe('bearer');
    expect(tokens.expires_in).toBe(2);
    expect(tokens.refresh_token).toEqual(expect.any(String));
    expect(tokens.scope?.split(' ').sort()).toEqual(['offline_access', 'openid', 'profile']);
    const userinfo = await client.fetchUserInfo(publicClient, tokens.access_token, client.skipSubjectCheck);
    expect(userinfo).toMatchObject({ sub: 'bob', name: 'Bob Example' });
  });

  test('refresh rotates the refresh token; replaying the old one revokes the whole grant', async () => {
    const first = await exchange(publicClient);
    const second = await client.refreshTokenGrant(publicClient, first.refresh_token!);
    expect(second.refresh_token).toEqual(expect.any(String));
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(second.access_token).not.toBe(first.access_token);
    expect(await grantError(client.refreshTokenGrant(publicClient, first.refresh_token!))).toBe('invalid_grant');
    expect(await grantError(client.refreshTokenGrant(publicClient, second.refresh_token!))).toBe('invalid_grant');
  });

  test('introspection reports tokens; a revoked refresh token can no longer refresh; access tokens expire', async () => {
    // A second grant's tokens, never revoked, for the expiry (revoking a refresh token revokes its grant's access tokens too).
    const [tokens, unrevoked] = await Promise.all([exchange(publicClient), exchange(publicClient)]);
    expect((await client.tokenIntrospection(publicClient, tokens.refresh_token!)).active).toBe(true);
    expect((await client.tokenIntrospection(publicClient, unrevoked.access_token)).active).toBe(true);
    await client.tokenRevocation(publicClient, tokens.refresh_token!, { token_type_hint: 'refresh_token' });
    expect((await client.tokenIntrospection(publicClient, tokens.refresh_token!)).active).toBe(false);
    expect(await grantError(client.refreshTokenGrant(publicClient, tokens.refresh_token!))).toBe('invalid_grant');
    // Inactive once its 2 s are up.
    expect(await eventually(async () => !(await client.tokenIntrospection(publicClient, unrevoked.access_token)).active, 10_000)).toBe(true);
  });

  test('the confidential client exchanges with its secret; a wrong secret is invalid_client', async () => {
    const confidential = await discover(provider.issuer, CONFIDENTIAL_CLIENT_ID, CONFIDENTIAL_CLIENT_SECRET);
    const tokens = await exchange(confidential);
    expect(tokens.refresh_token).toEqual(expect.any(String));
    const wrong = await discover(provider.issuer, CONFIDENTIAL_CLIENT_ID, 'wrong-secret');
    expect(await grantError(client.refreshTokenGrant(wrong, tokens.refresh_token!))).toBe('invalid_client');
  });

  test('PKCE is required, and a wrong verifier fails the exchange', async () => {
    const noPkce = client.buildAuthorizationUrl(publicClient, { redirect_uri: TEST_REDIRECT_URI, scope: TEST_SCOPE });
    const refused = await authorizeInProvider(noPkce, TEST_REDIRECT_URI);
    expect(refused.searchParams.get('error')).toBe('invalid_request');
    const { callback } = await codeFlow(publicClient);
    const wrongVerifier = client.genericGrantRequest(publicClient, 'authorization_code', {
      code: callback.searchParams.get('code')!,
      code_verifier: client.randomPKCECodeVerifier(),
      redirect_uri: TEST_REDIRECT_URI,
    });
    expect(await grantError(wrongVerifier)).toBe('invalid_grant');
  });

  test('a denied consent returns access_denied; a wrong password stays on the login page', async () => {
    // codeFlow checks the state: a denial carries it too, with an error instead of a code.
    const { callback } = await codeFlow(publicClient, { decision: 'deny' });
    expect(callback.searchParams.get('error')).toBe('access_denied');
    await expect(codeFlow(publicClient, { password: 'nope' })).rejects.toThrow(/answered 401/);
  });

  test('without prompt=consent oidc-provider issues no refresh token (why the flow always sends it)', async () => {
    const verifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(publicClient, {
      redirect_uri: TEST_REDIRECT_URI, scope: TEST_SCOPE, code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    });
    const callback = await authorizeInProvider(url, TEST_REDIRECT_URI);
    const tokens = await client.genericGrantRequest(publicClient, 'authorization_code', {
      code: callback.searchParams.get('code')!, code_verifier: verifier, redirect_uri: TEST_REDIRECT_URI,
    });
    expect(tokens.refresh_token).toBeUndefined();
  });

  test('test controls: token faults, rotation switch and request counts', async () => {
    await provider.control('/dev/reset', {});
    const tokens = await exchange(publicClient);
    await provider.control('/dev/faults', { kind: 'http503' });
    await expect(client.refreshTokenGrant(publicClient, tokens.refresh_token!)).rejects.toMatchObject({ code: 'OAUTH_RESPONSE_IS_NOT_CONFORM' });
    await provider.control('/dev/settings', { rotateRefreshTokens: false });
    await provider.control('/dev/faults', { kind: 'strip_refresh_token' });
    const stripped = await client.refreshTokenGrant(publicClient, tokens.refresh_token!);
    expect(stripped.refresh_token).toBeUndefined();
    const again = await client.refreshTokenGrant(publicClient, tokens.refresh_token!);
    expect(again.refresh_token).toBe(tokens.refresh_token);
    await provider.control('/dev/settings', { rotateRefreshTokens: true });
    expect(await provider.control('/dev/stats')).toMatchObject({ token: { authorization_code: { 200: 1 }, refresh_token: { 200: 2 } } });
    await expect(fetch(`${provider.issuer}/dev/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"kind":"x"}' }))
      .resolves.toMatchObject({ status: 400 });
  });
});

test('grants survive a restart of the provider with the same data file', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dev-provider-'));
  const data = path.join(dir, 'provider.sqlite');
  try {
    const first = await startCommand('server/local/oauth-provider-cli.ts', ['--port', '0', '--data', data]);
    const config = await discover(first.url, PUBLIC_CLIENT_ID);
    const tokens = await exchange(config);
    expect(await first.stop()).toBe(0);
    const port = new URL(first.url).port;
    const second = await startCommand('server/local/oauth-provider-cli.ts', ['--port', port, '--data', data]);
    try {
      const again = await discover(second.url, PUBLIC_CLIENT_ID);
      const refreshed = await client.refreshTokenGrant(again, tokens.refresh_token!);
      expect(refreshed.access_token).toEqual(expect.any(String));
    } finally {
      expect(await second.stop()).toBe(0);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
