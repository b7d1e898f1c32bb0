/**
 * The offline Dashboard of `npm start`, used the way a person does, in headless Chromium: the
 * app's own views (src/views, unmodified) connect through the dev provider's login and consent
 * pages, refresh, stay apart per user and mode, disconnect, and notice a revoked grant.
 * Screenshots of each step go to test-results/console/ (git-ignored).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { launchBrowser } from '../support/browser';
import { ROOT, RunningCommand, startCommand } from '../support/commands';

jest.setTimeout(120_000);

const SHOTS = path.join(ROOT, 'test-results', 'console');
let stack: RunningCommand;
let browser: Browser;
let dataDir: string;
let shots = 0;

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'console-'));
  stack = await startCommand('server/local/start.ts', [], { DATA_DIR: dataDir, CONSOLE_PORT: '0', SECRET_STORE_PORT: '0', OAUTH_PROVIDER_PORT: '0', PORT: '0' }, 60_000);
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const shot = (page: Page, name: string) => page.screenshot({ path: path.join(SHOTS, `${String(++shots).padStart(2, '0')}-${name}.png`), fullPage: true });
const drawer = (page: Page): Locator => page.locator('.drawer').first();
const panel = (page: Page, name: string): Locator => page.locator(`[data-panel="${name}"]`);
const tokenSecrets = (page: Page) => panel(page, 'secrets').locator('tr[data-secret^="oauth.access"], tr[data-secret^="oauth.refresh"]');

/** Connect → the provider in a new tab (as the Dashboard opens it) → login and consent → back in that tab's drawer. */
async function signIn(page: Page, connect: string): Promise<Page> {
  await drawer(page).getByRole('button', { name: connect }).click();
  const link = drawer(page).getByRole('link', { name: 'Continue to Dev provider' });
  const [tab] = await Promise.all([page.context().waitForEvent('page'), link.click()]);
  tab.setDefaultTimeout(20_000);
  // The provider asks for the login only once per browser session; consent every time (prompt=consent).
  const allow = tab.getByRole('button', { name: 'Allow' });
  await Promise.race([tab.getByLabel('User').waitFor(), allow.waitFor()]);
  if (await tab.getByLabel('User').isVisible()) {
    await tab.getByLabel('User').fill('alice');
    await tab.getByLabel('Password').fill('dev-password');
    await tab.getByRole('button', { name: 'Sign in' }).click();
  }
  await allow.click();
  await drawer(tab).getByText('Connected to Dev provider').waitFor();
  await page.close();
  return tab;
}

/** Polls `read` until it gives `expected` (the page polls its server every second), then asserts it. */
async function until<T>(read: () => Promise<T>, expected: T): Promise<void> {
  let actual = await read();
  for (let i = 0; i < 100 && actual !== expected; i++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    actual = await read();
  }
  expect(actual).toBe(expected);
}

async function select(page: Page, label: string, value: string): Promise<void> {
  await panel(page, 'identity').getByLabel(label).selectOption(value);
}

test('the whole flow in the offline Dashboard: connect, refresh, isolation, revoke, reconnect, disconnect', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const first = await context.newPage();
  first.setDefaultTimeout(20_000);
  await first.goto(stack.url);
  await drawer(first).getByRole('button', { name: 'Connect Dev provider' }).waitFor();
  await shot(first, 'signed-out');

  // Connect as user A.
  let page = await signIn(first, 'Connect Dev provider');
  await drawer(page).getByText('Alice Example (alice@example.test)').waitFor();
  await until(() => tokenSecrets(page).count(), 2);
  await shot(page, 'connected');

  // Expire the access token: the views reopen, the backend refreshes and rewrites both secrets.
  await panel(page, 'secrets').getByRole('button', { name: 'Expire the access token now' }).click();
  await panel(page, 'history').locator('tr[data-outcome="refreshed"]').first().waitFor();
  await until(() => panel(page, 'secrets').locator('tr[data-secret="oauth.refresh"] td').nth(2).textContent(), '2');
  await until(() => panel(page, 'secrets').locator('tr[data-secret="oauth.access"] td').nth(2).textContent(), '2');
  await drawer(page).getByText('Connected to Dev provider').waitFor();
  await shot(page, 'refreshed');

  // Another user on the same account sees nothing of A's; nor does A in live mode.
  await select(page, 'User', 'usr_console_ben');
  await drawer(page).getByRole('button', { name: 'Connect Dev provider' }).waitFor();
  await until(() => tokenSecrets(page).count(), 0);
  await shot(page, 'user-b');
  await select(page, 'User', 'usr_console_ana');
  await select(page, 'Mode', 'live');
  await drawer(page).getByRole('button', { name: 'Connect Dev provider' }).waitFor();
  await until(() => tokenSecrets(page).count(), 0);
  await shot(page, 'live-mode');
  await select(page, 'Mode', 'test');
  await drawer(page).getByText('Connected to Dev provider').waitFor();

  // Revoke at the provider; once the access token is gone, the refresh fails for good.
  await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/console/revoke') && r.ok()),
    panel(page, 'secrets').getByRole('button', { name: 'Revoke the grant at the provider' }).click(),
  ]);
  await panel(page, 'secrets').getByRole('button', { name: 'Expire the access token now' }).click();
  await drawer(page).getByText('Reconnect required').first().waitFor();
  await until(() => tokenSecrets(page).count(), 0);
  await shot(page, 'reconnect-required');

  // Connect again, then disconnect: the secrets are gone.
  page = await signIn(page, 'Connect Dev provider again');
  await until(() => tokenSecrets(page).count(), 2);
  await drawer(page).getByRole('button', { name: 'Disconnect' }).click();
  await drawer(page).getByRole('button', { name: 'Connect Dev provider' }).waitFor();
  await until(() => tokenSecrets(page).count(), 0);
  await shot(page, 'disconnected');
  await context.close();
});
