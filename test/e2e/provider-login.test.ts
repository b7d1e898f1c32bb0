/** The dev provider's login and consent pages, used the way a person does: in Chromium. */
import type { Browser, Page } from 'playwright-core';
import * as client from 'openid-client';
import { PUBLIC_CLIENT_ID, TEST_REDIRECT_URI } from '../../server/local/oauth-provider/clients';
import { launchBrowser } from '../support/browser';
import { discover, startTestProvider, TestProvider } from '../support/dev-provider';

let provider: TestProvider;
let browser: Browser;
let config: client.Configuration;

beforeAll(async () => {
  // The browser launches while the provider starts.
  const started = startTestProvider().then(async (p) => {
    provider = p;
    config = await discover(p.issuer, PUBLIC_CLIENT_ID);
  });
  [browser] = await Promise.all([launchBrowser(), started]);
});
afterAll(async () => {
  await browser?.close();
  await provider?.stop();
});

async function startSignIn(page: Page) {
  const verifier = client.randomPKCECodeVerifier();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: TEST_REDIRECT_URI,
    scope: 'openid profile offline_access',
    prompt: 'consent',
    state: 'browser-state',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  // Nothing listens at the redirect URI: a route answers the browser there.
  await page.route(`${TEST_REDIRECT_URI}**`, (route) => route.fulfill({ status: 200, contentType: 'text/plain', body: 'back at the client' }));
  await page.goto(url.toString());
  return verifier;
}

/**
 * The URL the provider sends the browser back to after `act`: its request for the redirect URI.
 * (A route does not catch a redirect's request: it fails, and the page gets there only when
 * Chromium reloads the error page a second later.)
 */
async function backAtClient(page: Page, act: () => Promise<void>): Promise<URL> {
  const [request] = await Promise.all([page.waitForRequest(`${TEST_REDIRECT_URI}**`), act()]);
  return new URL(request.url());
}

test('a person signs in, allows access, and the client gets a code it can exchange for tokens', async () => {
  const page = await browser.newPage();
  const verifier = await startSignIn(page);
  await page.getByRole('heading', { name: 'Sign in to the dev provider' }).waitFor();
  await page.getByLabel('User').fill('alice');
  await page.getByLabel('Password').fill('dev-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Allow access?' }).waitFor();
  expect(await page.locator('li').allTextContents()).toEqual(expect.arrayContaining(['offline_access']));
  const callback = await backAtClient(page, () => page.getByRole('button', { name: 'Allow' }).click());
  expect(callback.searchParams.get('state')).toBe('browser-state');
  const tokens = await client.genericGrantRequest(config, 'authorization_code', {
    code: callback.searchParams.get('code')!,
    code_verifier: verifier,
    redirect_uri: TEST_REDIRECT_URI,
  });
  expect(tokens.refresh_token).toEqual(expect.any(String));
  await page.close();
});

test('a wrong password keeps the person on the login page with an error', async () => {
  const page = await browser.newPage();
  await startSignIn(page);
  await page.getByLabel('User').fill('alice');
  await page.getByLabel('Password').fill('wrong');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert').textContent()).resolves.toBe('Unknown user or wrong password.');
  expect(page.url()).toContain('/interaction/');
  await page.close();
});

test('Cancel on the login page sends the person back to the client with access_denied', async () => {
  const page = await browser.newPage();
  await startSignIn(page);
  const callback = await backAtClient(page, () => page.getByRole('button', { name: 'Cancel' }).click());
  expect(callback.searchParams.get('error')).toBe('access_denied');
  expect(callback.searchParams.get('state')).toBe('browser-state');
  await page.close();
});

test('"Use another account" on the consent page asks for the login again, and the code is for the other account', async () => {
  const context = await browser.newContext();
  let page = await context.newPage();
  const signIn = async (user: string) => {
    await page.getByLabel('User').fill(user);
    await page.getByLabel('Password').fill('dev-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
  };
  const finish = async (verifier: string) => {
    const callback = await backAtClient(page, () => page.getByRole('button', { name: 'Allow' }).click());
    expect(callback.searchParams.get('state')).toBe('browser-state');
    const tokens = await client.genericGrantRequest(config, 'authorization_code', { code: callback.searchParams.get('code')!, code_verifier: verifier, redirect_uri: TEST_REDIRECT_URI });
    return tokens.claims()?.sub;
  };
  const first = await startSignIn(page);
  await signIn('alice');
  expect(await finish(first)).toBe('alice');
  // The browser's session remembers alice: the next sign-in (in a new tab, away from the first's
  // failed navigation to the redirect URI, which Chromium may still be loading) goes straight to
  // consent, which offers the switch.
  await page.close();
  page = await context.newPage();
  const verifier = await startSignIn(page);
  await page.getByText('Alice Example').waitFor();
  await page.getByRole('button', { name: 'Use another account' }).click();
  await page.getByRole('heading', { name: 'Sign in to the dev provider' }).waitFor();
  await signIn('bob');
  await page.getByText('Bob Example').waitFor();
  expect(await finish(verifier)).toBe('bob');
  await context.close();
});
