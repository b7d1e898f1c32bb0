/**
 * The offline Dashboard of `npm start`, used the way a person does, in headless Chromium: the
 * app's own views (src/views, unmodified) connect the `dev` service through the dev provider's
 * login and consent pages, refresh, stay apart per user and mode, disconnect, and notice a
 * revoked grant — with both views and the panels agreeing after each step; an API key made in
 * the console, saved in the drawer for the `notes` service and never shown again; ten switches
 * of identity that each start the views clean; and, with the one unnamed provider
 * (LOCAL_ONE_PROVIDER=1), the backend refreshing on its own and a view edited while the page is
 * open. With CONSOLE_SCREENSHOTS=1, screenshots of each step go to test-results/console/
 * (git-ignored): each costs the run CPU, and no assertion reads them.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { launchBrowser } from '../support/browser';
import { ROOT, RunningCommand, startCommand } from '../support/commands';

jest.setTimeout(120_000);

const SHOTS = path.join(ROOT, 'test-results', 'console');
const SCREENSHOTS = process.env.CONSOLE_SCREENSHOTS === '1';
const ALL_PORTS_FREE = { CONSOLE_PORT: '0', SECRET_STORE_PORT: '0', OAUTH_PROVIDER_PORT: '0', PORT: '0' };
let browser: Browser;
let shots = 0;
const temporary: string[] = [];

/** `npm start` on free ports with its own DATA_DIR. */
async function startStack(env: Record<string, string> = {}): Promise<RunningCommand> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'console-'));
  temporary.push(dataDir);
  return startCommand('server/local/start.ts', [], { DATA_DIR: dataDir, ...ALL_PORTS_FREE, ...env }, 60_000);
}

/** `npm start` with the one unnamed provider, on a copy of the app so that a test can edit its views. */
async function startOneProviderStack(): Promise<{ stack: RunningCommand; appDir: string }> {
  const appDir = mkdtempSync(path.join(os.tmpdir(), 'console-app-'));
  temporary.push(appDir);
  cpSync(path.join(ROOT, 'src'), path.join(appDir, 'src'), { recursive: true });
  for (const manifest of ['stripe-app.json', 'stripe-app.local.json']) cpSync(path.join(ROOT, manifest), path.join(appDir, manifest));
  return { stack: await startStack({ STRIPE_APP_DIR: appDir, KEEP_ALIVE_SECONDS: '2', LOCAL_ONE_PROVIDER: '1' }), appDir };
}

// The browser and both stacks start side by side (each test uses its own stack, so they stay apart).
// Keep-alive stays out of the way of the first (its own test below): the generations counted are the console's.
let stack: RunningCommand;
let oneProvider: { stack: RunningCommand; appDir: string };
beforeAll(async () => {
  // This run's screenshots only: a step's number can differ from an earlier run's.
  rmSync(SHOTS, { recursive: true, force: true });
  if (SCREENSHOTS) mkdirSync(SHOTS, { recursive: true });
  [browser, stack, oneProvider] = await Promise.all([launchBrowser(), startStack({ KEEP_ALIVE_SECONDS: '3600' }), startOneProviderStack()]);
});
afterAll(async () => {
  await browser?.close();
  await Promise.all([stack?.stop(), oneProvider?.stack.stop()]);
  for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
});

const shot = async (page: Page, name: string) => {
  if (SCREENSHOTS) await page.screenshot({ path: path.join(SHOTS, `${String(++shots).padStart(2, '0')}-${name}.png`), fullPage: true });
};
const drawer = (page: Page): Locator => page.locator('[data-view="drawer"]');
const settings = (page: Page): Locator => page.locator('[data-view="settings"]');
const panel = (page: Page, name: string): Locator => page.locator(`[data-panel="${name}"]`);
/** The OAuth token secrets: `oauth.dev.*` of the dev service, or `oauth.*` of the one unnamed provider. */
const tokenSecrets = (page: Page) => panel(page, 'secrets').locator('tr[data-secret$=".access"], tr[data-secret$=".refresh"]');
const generation = (page: Page, secret: string) => panel(page, 'secrets').locator(`tr[data-secret="${secret}"] td[data-generation]`).textContent();
/** The dev service's buttons in the secrets panel ('' for the one unnamed provider). */
const devActions = (page: Page, service = 'dev') => panel(page, 'secrets').locator(`[data-service="${service}"]`);
// The settings view's first badge is the dev service's (the OAuth provider comes first in SERVICES).
const badge = (page: Page) => settings(page).locator('.badge').first();

async function openConsole(url: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  await page.goto(url);
  return page;
}

/** The dev provider's Disconnect in the drawer: there once it is connected (one provider's view, or its section beside others). */
const connected = (page: Page) => drawer(page).getByRole('button', { name: /^Disconnect( Dev provider)?$/ });

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
  await connected(tab).waitFor();
  await page.close();
  return tab;
}

/** Polls `read` until it gives `expected` (the page polls its server every half second), then asserts it. */
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

/** Both views and the panels say the same about the connection. */
async function agree(page: Page, state: 'connected' | 'not_connected' | 'reconnect_required'): Promise<void> {
  const badgeText = { connected: 'Connected', not_connected: 'Not connected', reconnect_required: 'Reconnect required' }[state];
  await until(() => badge(page).textContent(), badgeText);
  if (state === 'connected') await connected(page).waitFor();
  else await drawer(page).getByRole('button', { name: 'Connect Dev provider' }).waitFor();
  await until(() => tokenSecrets(page).count(), state === 'connected' ? 2 : 0);
}

/** The history's rows as text: a repeated line counts up in its row instead of adding one. */
async function historyRows(page: Page): Promise<string[]> {
  // Every cell but the time: the service (when there are several), the event and its outcome.
  const rows = await panel(page, 'history').locator('tbody tr').all();
  return Promise.all(rows.map(async (row) => (await row.locator('td').allTextContents()).slice(1).join(' ')));
}

describe('one stack', () => {
  test('the whole flow: connect, refresh, isolation, revoke, reconnect, disconnect — the views and panels agree after each', async () => {
    const first = await openConsole(stack.url);
    await drawer(first).getByRole('button', { name: 'Connect Dev provider' }).waitFor();
    await agree(first, 'not_connected');
    await shot(first, 'signed-out');

    // Connect as user A: the settings view follows without a reload, and the event arrives signed.
    let page = await signIn(first, 'Connect Dev provider');
    await drawer(page).getByText('Alice Example (alice@example.test)').waitFor();
    await agree(page, 'connected');
    await panel(page, 'events').locator('tr[data-service="dev"][data-event="connection.connected"][data-delivery="delivered"]').waitFor();
    await panel(page, 'proxy').locator('tr[data-service="dev"][data-status="200"]').first().waitFor();
    await shot(page, 'connected');

    // Expire the dev service's access token: the views reload, the backend refreshes and rewrites both its secrets.
    await devActions(page).getByRole('button', { name: 'Expire the access token now' }).click();
    await panel(page, 'history').locator('tr[data-service="dev"][data-outcome="refreshed"]').first().waitFor();
    await until(() => generation(page, 'oauth.dev.refresh'), '2');
    await until(() => generation(page, 'oauth.dev.access'), '2');
    await agree(page, 'connected');
    await shot(page, 'refreshed');

    // Another user on the same account sees nothing of A's; nor does A in live mode.
    await select(page, 'User', 'usr_console_ben');
    await agree(page, 'not_connected');
    await shot(page, 'user-b');
    // B connects in the same browser: the provider's sign-in is A's, and the console says so.
    page = await signIn(page, 'Connect Dev provider');
    await agree(page, 'connected');
    const shared = panel(page, 'identity').locator('[data-shared-login="dev"]');
    await shared.waitFor();
    expect(await shared.textContent()).toContain('Ben (Dashboard user B) and Ana (Dashboard user A) are connected to dev as the same provider user (alice)');
    await shot(page, 'shared-login');
    // (B stays connected: a disconnect would revoke at the provider the grant A's connection shares.)
    await select(page, 'User', 'usr_console_ana');
    await shared.waitFor();
    await select(page, 'Mode', 'live');
    await agree(page, 'not_connected');
    expect(await shared.count()).toBe(0);
    await shot(page, 'live-mode');
    await select(page, 'Mode', 'test');
    await agree(page, 'connected');

    // Revoke at the provider: the views reload, their check (through the proxy) finds the grant gone.
    await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/console/revoke') && r.ok()),
      devActions(page).getByRole('button', { name: 'Revoke the grant at the provider' }).click(),
    ]);
    await agree(page, 'reconnect_required');
    await panel(page, 'events').locator('tr[data-service="dev"][data-event="connection.reconnect_required"][data-delivery="delivered"]').waitFor();
    await panel(page, 'proxy').locator('tr[data-status="401"], tr[data-status="reconnect_required"]').first().waitFor();
    // Said once in the settings view; with nothing left to revoke or expire, those buttons are off.
    await until(() => settings(page).getByText('Reconnect required').count(), 1);
    await until(() => devActions(page).getByRole('button', { name: 'Revoke the grant at the provider' }).isDisabled(), true);
    await shot(page, 'reconnect-required');

    // Connect again, then disconnect in the drawer: the settings view and the panels follow.
    page = await signIn(page, 'Connect Dev provider');
    await agree(page, 'connected');
    // One Disconnect per connected service, named for it.
    await drawer(page).getByRole('button', { name: 'Disconnect Dev provider' }).click();
    await agree(page, 'not_connected');
    await panel(page, 'events').locator('tr[data-event="connection.disconnected"]').waitFor();
    const rows = await historyRows(page);
    expect(rows.filter((row, i) => row === rows[i - 1])).toEqual([]);
    await shot(page, 'disconnected');
    await page.context().close();
  });

  test('an API key made in the console and saved in the drawer: the notes service is connected, and the key is never shown again, in the page or the backend log', async () => {
    const page = await openConsole(stack.url);
    // The console shows a new dev key of the current user once, to paste into the drawer.
    await devActions(page, 'notes').getByRole('button', { name: 'Make a dev API key' }).click();
    const key = (await panel(page, 'secrets').locator('[data-new-key]').textContent())!;
    expect(key).toMatch(/^devkey_/);
    // The drawer's masked "API key" input and its "Save" button for the notes service.
    const input = drawer(page).getByLabel('API key');
    expect(await input.getAttribute('type')).toBe('password');
    await input.fill(key);
    await drawer(page).getByRole('button', { name: 'Save' }).click();
    // The key is the account's: an account-scope secret, listed sealed and never in clear.
    await panel(page, 'secrets').locator('tr[data-secret="apikey.notes"]').waitFor();
    await panel(page, 'history').locator('tr[data-service="notes"][data-outcome="connected"]').waitFor();
    await panel(page, 'events').locator('tr[data-service="notes"][data-event="connection.connected"]').waitFor();
    await devActions(page, 'notes').getByRole('button', { name: 'Done' }).click();
    await shot(page, 'api-key-saved');
    // Nowhere after that: not in any text of the page (panels and views), its state, or the backend's log.
    const secretPart = key.slice('devkey_'.length);
    expect(await page.locator('body').innerText()).not.toContain(secretPart);
    expect(await (await fetch(`${stack.url}/console/state`)).text()).not.toContain(secretPart);
    expect(stack.output()).not.toContain(secretPart);
    await page.context().close();
  });

  test('ten switches of user, account and mode: each starts the views clean, and nothing is signed for a mixed identity', async () => {
    const page = await openConsole(stack.url);
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => void dialog.dismiss().then(() => dialogs.push(dialog.message())));
    const showsStatus = async () => ['Connected', 'Not connected', 'Reconnect required'].includes((await badge(page).textContent({ timeout: 5000 }).catch(() => '')) ?? '');
    await until(showsStatus, true);
    const before = stack.output().length;
    const choices: Array<[string, string]> = [
      ['User', 'usr_console_ben'], ['Account', 'acct_1PashaShop'], ['Mode', 'live'], ['User', 'usr_console_ana'], ['Account', 'acct_1RocketRides'],
      ['Mode', 'test'], ['User', 'usr_console_ben'], ['Mode', 'live'], ['Mode', 'test'], ['User', 'usr_console_ana'],
    ];
    for (const [label, value] of choices) {
      await select(page, label, value);
      await until(() => panel(page, 'identity').getByLabel(label).inputValue(), value);
      // A status each time, never a stray control or an error from the switch.
      await until(showsStatus, true);
      expect(await settings(page).getByRole('button', { name: 'Retry' }).count()).toBe(0);
      expect(await page.locator('[data-view] .banner-critical').count()).toBe(0);
      expect(await settings(page).locator('.unknown').count()).toBe(0);
    }
    await shot(page, 'after-ten-switches');
    // No signed request was refused: no view ever signed as one identity and asked as another.
    expect(stack.output().slice(before)).not.toMatch(/status=401/);
    expect(dialogs).toEqual([]);
    await page.context().close();
  });
});

test('with the one unnamed provider: the backend refreshes on its own, and a view edited while the page is open shows the change', async () => {
  const { stack, appDir } = oneProvider;
  try {
    const page = await signIn(await openConsole(stack.url), 'Connect Dev provider');
    await agree(page, 'connected');
    const expiry = () => settings(page).locator('.property', { hasText: 'Access token expires' }).locator('dd').textContent();
    const first = await expiry();

    // Keep-alive: no button pressed, the refresh shows in the history and in both views.
    await panel(page, 'history').locator('tr[data-outcome="refreshed"]').first().waitFor({ timeout: 30_000 });
    await until(async () => (await expiry()) !== first, true);
    await agree(page, 'connected');
    await shot(page, 'kept-alive');

    // Edit a component both views use: the page shows it without a reload.
    const details = path.join(appDir, 'src', 'components', 'ConnectionDetails.tsx');
    const source = readFileSync(details, 'utf8');
    writeFileSync(details, source.replace("'Access token expires'", "'Access token valid until'"));
    await settings(page).getByText('Access token valid until').waitFor();
    await drawer(page).getByText('Access token valid until').waitFor();
    // A broken edit keeps the last good views and says why; fixing it clears that.
    writeFileSync(details, `${source}\nexport const broken = ;\n`);
    await page.locator('[data-build-error]').waitFor();
    await shot(page, 'build-error');
    // (Read until it holds: keep-alive refreshes every few seconds here, and each refresh reloads the views.)
    await until(() => settings(page).getByText('Access token valid until').count(), 1);
    writeFileSync(details, source);
    await settings(page).getByText('Access token expires').waitFor();
    await until(() => page.locator('[data-build-error]').count(), 0);
    await page.context().close();
  } finally {
    await stack.stop();
  }
});
