import { Banner, Button, PropertyListItem, SignInView, Spinner } from '@stripe/ui-extension-sdk/ui';
import { APP_ID } from '../../src/common/app-id';
import { type DashboardUserId, toWire } from '../../src/common/connection-id';
import { dashboardRedirectUri } from '../../src/common/redirect-uri';
import App from '../../src/views/App';
import { providerStats } from '../support/dev-provider';
import { brokerSuite, startBroker, TestBroker } from '../support/in-process-broker';
import { Stack, storedSecrets } from '../support/stack';
import { DashboardDouble, installDashboard, uninstallDashboard } from '../support/dashboard-double';
import { contextFor, renderView } from '../support/render';
import { authorizeInProvider } from '../support/user-agent';

let stack: Stack;
let broker: TestBroker;
let users = 0;
let user: DashboardUserId;
let double: DashboardDouble;

const constants = (extra: Record<string, string> = {}) => ({
  PROVIDER: 'dev',
  CLIENT_ID: 'stripe-app-dev',
  BACKEND_URL: broker.url,
  AUTHORIZE_URL: `${stack.provider.issuer}/auth`,
  TOKEN_URL: `${stack.provider.issuer}/token`,
  API_BASE_URL: `${stack.provider.issuer}/api`,
  ...extra,
});

function useUser(mode: 'test' | 'live' = 'test', permissions?: string[]) {
  user = { userId: `usr_drawer${++users}`, accountId: 'acct_drawer', mode };
  double = installDashboard({ ...user, emulatorUrl: stack.emulatorUrl, permissions });
}

brokerSuite((started) => ({ stack, broker } = started));
afterAll(uninstallDashboard);
beforeEach(() => {
  stack.clock.offset = 0;
  useUser();
});

const signInView = (wrapper: Awaited<ReturnType<typeof renderView>>['wrapper']) => wrapper.find(SignInView);

type View = Awaited<ReturnType<typeof renderView>>;

/** Presses Connect on a signed-out drawer and returns the link to the provider once it is ready. */
async function pressConnect(view: View): Promise<string> {
  await view.until(() => Boolean(signInView(view.wrapper)?.prop('primaryAction')?.onPress));
  await view.wrapper.act(async () => signInView(view.wrapper)!.triggerKeypath('primaryAction.onPress'));
  await view.until(() => Boolean(signInView(view.wrapper)?.prop('primaryAction')?.href));
  return signInView(view.wrapper)!.prop('primaryAction')!.href!;
}

/** Renders the drawer signed out, presses Connect and returns the link. */
async function connectLink(extra: Record<string, string> = {}): Promise<string> {
  return pressConnect(await renderView(App, contextFor(user, constants(extra))));
}

/** Goes through the provider as the user would and returns the `oauthContext` the Dashboard hands back. */
async function signInAtProvider(link: string, options: { decision?: 'allow' | 'deny' } = {}) {
  const redirect = dashboardRedirectUri(APP_ID, user.mode);
  const callback = await authorizeInProvider(link, redirect, { user: 'alice', decision: options.decision });
  return { oauthContext: double.oauthContextFor(callback), fullState: callback.searchParams.get('state')! };
}

test('signed out: loading first, then Connect, which prepares the link to the provider with PKCE, state and the test-mode redirect URI', async () => {
  const view = await renderView(App, contextFor(user, constants()));
  expect(view.wrapper).toContainComponent(Spinner);
  await view.until(() => signInView(view.wrapper) !== null);
  // Rendering alone creates no sign-in state.
  expect(signInView(view.wrapper)!.prop('primaryAction')!.href).toBeUndefined();
  expect(await stateSecret()).toBeUndefined();
  const link = new URL(await pressConnect(view));
  expect(signInView(view.wrapper)!.prop('primaryAction')!.target).toBe('_blank');
  expect(`${link.origin}${link.pathname}`).toBe(`${stack.provider.issuer}/auth`);
  expect(Object.fromEntries(link.searchParams)).toMatchObject({
    response_type: 'code',
    client_id: 'stripe-app-dev',
    redirect_uri: `https://dashboard.stripe.com/test/apps-oauth/${APP_ID}`,
    code_challenge_method: 'S256',
    scope: 'openid profile email offline_access',
    prompt: 'consent',
  });
  expect(double.oauthContextFor(new URL(`https://x/?state=${encodeURIComponent(link.searchParams.get('state')!)}&code=c`)).verifier).toBeDefined();
});

test('live mode uses the live redirect URI', async () => {
  useUser('live');
  const link = new URL(await connectLink());
  expect(link.searchParams.get('redirect_uri')).toBe(`https://dashboard.stripe.com/apps-oauth/${APP_ID}`);
});

test('Connect → provider → return with code → exchange → connected → disconnect', async () => {
  const { oauthContext: ret } = await signInAtProvider(await connectLink());
  expect(ret.code).toBeDefined();

  const back = await renderView(App, contextFor(user, constants(), ret));
  await back.until(() => back.wrapper.text.includes('Finishing sign-in…'));
  expect(back.wrapper).toContainComponent(Spinner);
  await back.until(() => back.wrapper.findAll(PropertyListItem).length > 0);
  expect(back.wrapper).toContainComponent(PropertyListItem, { label: 'Dev provider account', value: 'Alice Example (alice@example.test)' });
  const secrets = await storedSecrets(stack, toWire(user));
  expect(secrets.access).toBeDefined();
  expect(secrets.refresh).toBeDefined();
  // Today's Dashboard path: the SDK signed and reached the Secret Store with the app embedded key.
  expect(double.used.hostCalls).toBe(0);
  expect(double.used.embeddedKey).toBeGreaterThan(0);
  expect((await providerStats(stack)).token.authorization_code?.[200]).toBeGreaterThanOrEqual(1);
  const exchangesBefore = (await providerStats(stack)).token.authorization_code?.[200];

  // oauthContext stays until the Dashboard reloads: rendering again must not exchange the code again.
  const replay = await renderView(App, contextFor(user, constants(), ret));
  await replay.until(() => replay.wrapper.findAll(PropertyListItem).length > 0);
  expect((await providerStats(stack)).token.authorization_code?.[200]).toBe(exchangesBefore);
  expect(replay.wrapper).not.toContainComponent(Banner);

  const disconnect = replay.wrapper.findAll(Button).find((b) => b.prop('type') === 'destructive')!;
  await replay.wrapper.act(async () => disconnect.trigger('onPress'));
  await replay.until(() => Boolean(signInView(replay.wrapper)?.prop('primaryAction')?.onPress));
  expect(await storedSecrets(stack, toWire(user))).toEqual({ access: undefined, refresh: undefined });
});

test('a Dashboard that hands back the whole state (not just the embedded value) is accepted too', async () => {
  const { oauthContext, fullState } = await signInAtProvider(await connectLink());
  const view = await renderView(App, contextFor(user, constants(), { ...oauthContext, state: fullState }));
  await view.until(() => view.wrapper.findAll(PropertyListItem).length > 0);
  expect(view.wrapper).not.toContainComponent(Banner);
});

/** Presses the "Connect … again" button of a drawer that shows a Banner, and returns the new link. */
async function pressConnectAgain(view: View): Promise<string> {
  await view.until(() => Boolean(view.wrapper.find(Button, { type: 'primary' })?.prop('onPress')));
  await view.wrapper.act(async () => view.wrapper.find(Button, { type: 'primary' })!.trigger('onPress'));
  await view.until(() => Boolean(view.wrapper.find(Button, { type: 'primary' })?.prop('href')));
  return view.wrapper.find(Button, { type: 'primary' })!.prop('href') as string;
}

/** The user's `oauth.state` secret (pending sign-ins), as stored. */
async function stateSecret(): Promise<{ v: number; pending: Array<{ state: string; nonce: string }> } | undefined> {
  const answer = await double.stripeApiFetch(
    `https://api.stripe.com/v1/apps/secrets/find?name=oauth.state&scope[type]=user&scope[user]=${user.userId}&expand[]=payload`,
  );
  return answer.status === 404 ? undefined : JSON.parse((answer.json as { payload: string }).payload);
}

test('a provider error comes back as a critical Banner with a fixed message, and Connect again', async () => {
  const { oauthContext: ret } = await signInAtProvider(await connectLink(), { decision: 'deny' });
  expect(ret.error).toBe('access_denied');
  const view = await renderView(App, contextFor(user, constants(), ret));
  await view.until(() => view.wrapper.find(Banner) !== null);
  expect(view.wrapper).toContainComponent(Banner, { type: 'critical', title: 'Connecting failed', description: 'Access was declined at the provider.' });
  expect(await pressConnectAgain(view)).toContain(`${stack.provider.issuer}/auth?`);
});

test("the provider's own error text is never shown, and an error for a state this app did not issue shows nothing of it", async () => {
  const link = new URL(await connectLink());
  const hostile = 'Call <b>+1 555 0100</b> to restore your account';
  const matching = double.oauthContextFor(new URL(`https://x/?state=${encodeURIComponent(link.searchParams.get('state')!)}&error=${encodeURIComponent(hostile)}`));
  const view = await renderView(App, contextFor(user, constants(), matching));
  await view.until(() => view.wrapper.find(Banner) !== null);
  expect(view.wrapper.find(Banner)!.prop('description')).toBe('The provider did not grant access.');

  const unknownState = { error: 'access_denied', state: 'not-issued-here' };
  const other = await renderView(App, contextFor(user, constants(), unknownState));
  await other.until(() => other.wrapper.find(Banner) !== null);
  expect(other.wrapper.find(Banner)!.prop('description')).toMatch(/does not match/);
});

test('two sign-ins at once (two drawers) do not break each other; only the matched one is used up', async () => {
  const first = await connectLink();
  const second = await connectLink();
  expect((await stateSecret())!.pending).toHaveLength(2);
  const { oauthContext: ret } = await signInAtProvider(first);
  const view = await renderView(App, contextFor(user, constants(), ret));
  await view.until(() => view.wrapper.findAll(PropertyListItem).length > 0);
  expect(view.wrapper).not.toContainComponent(Banner);
  const left = (await stateSecret())!.pending;
  expect(left.map((p) => p.state)).toEqual([new URL(second).searchParams.get('state')]);
});

test('a stale or replayed return over a working connection shows the connection, not a failure', async () => {
  const { oauthContext: ret } = await signInAtProvider(await connectLink());
  const connected = await renderView(App, contextFor(user, constants(), ret));
  await connected.until(() => connected.wrapper.findAll(PropertyListItem).length > 0);
  const stale = { code: 'an-old-code-from-a-previous-sign-in', state: 'used-up-state', verifier: 'v'.repeat(43) };
  const view = await renderView(App, contextFor(user, constants(), stale));
  await view.until(() => view.wrapper.findAll(PropertyListItem).length > 0);
  expect(view.wrapper).not.toContainComponent(Banner);
});

test('a state that this app did not issue is refused without an exchange', async () => {
  const { oauthContext: ret } = await signInAtProvider(await connectLink());
  const before = (await providerStats(stack)).token.authorization_code?.[200] ?? 0;
  const forged = { ...ret, state: 'a-state-from-somewhere-else' };
  const view = await renderView(App, contextFor(user, constants(), forged));
  await view.until(() => view.wrapper.find(Banner) !== null);
  expect(view.wrapper.find(Banner)!.prop('description')).toMatch(/does not match/);
  expect((await providerStats(stack)).token.authorization_code?.[200] ?? 0).toBe(before);
  expect(await storedSecrets(stack, toWire(user))).toEqual({ access: undefined, refresh: undefined });
});

test('a revoked connection shows "Reconnect required" with a Connect link', async () => {
  const { oauthContext: ret } = await signInAtProvider(await connectLink());
  const connected = await renderView(App, contextFor(user, constants(), ret));
  await connected.until(() => connected.wrapper.findAll(PropertyListItem).length > 0);
  const { refresh } = await storedSecrets(stack, toWire(user));
  await fetch(`${stack.provider.issuer}/token/revocation`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: refresh!.payload.refresh_token, client_id: 'stripe-app-dev' }),
  });
  stack.clock.offset += 400; // the access secret expires in the store
  const view = await renderView(App, contextFor(user, constants()));
  await view.until(() => view.wrapper.find(Banner) !== null);
  expect(view.wrapper).toContainComponent(Banner, { type: 'caution', title: 'Reconnect required' });
  expect(await pressConnectAgain(view)).toContain(`${stack.provider.issuer}/auth?`);
});

test('revoked at the provider while the access token still looks fresh: Check connection shows Reconnect required', async () => {
  const { oauthContext: ret } = await signInAtProvider(await connectLink());
  const view = await renderView(App, contextFor(user, constants(), ret));
  await view.until(() => view.wrapper.findAll(PropertyListItem).length > 0);
  expect(view.wrapper).toContainComponent(PropertyListItem, { label: 'Dev provider account', value: 'Alice Example (alice@example.test)' });
  const { refresh } = await storedSecrets(stack, toWire(user));
  await fetch(`${stack.provider.issuer}/token/revocation`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: refresh!.payload.refresh_token, client_id: 'stripe-app-dev' }),
  });
  await view.wrapper.act(async () => view.wrapper.findAll(Button).find((b) => b.text === 'Check connection')!.trigger('onPress'));
  await view.until(() => view.wrapper.find(Banner) !== null);
  expect(view.wrapper).toContainComponent(Banner, { type: 'caution', title: 'Reconnect required' });
});

test('extension exchange mode: the view exchanges at the provider, stores the tokens itself and registers them', async () => {
  const { oauthContext: ret } = await signInAtProvider(await connectLink({ EXCHANGE_MODE: 'extension' }));
  const view = await renderView(App, contextFor(user, constants({ EXCHANGE_MODE: 'extension' }), ret));
  await view.until(() => view.wrapper.findAll(PropertyListItem).length > 0);
  const secrets = await storedSecrets(stack, toWire(user));
  expect(secrets.refresh!.payload).toMatchObject({ generation: 1, refresh_token: expect.any(String) });
  expect(await broker.storage.records.get(user)).toMatchObject({ status: 'connected' });
});

test('backend unreachable: a critical Banner, and Retry recovers once the backend is back', async () => {
  const down = await startBroker(stack);
  const port = Number(new URL(down.url).port);
  await down.stop();
  const view = await renderView(App, contextFor(user, constants({ BACKEND_URL: `http://127.0.0.1:${port}` })));
  await view.until(() => view.wrapper.find(Banner) !== null);
  expect(view.wrapper).toContainComponent(Banner, { type: 'critical', title: "Can't reach the connection service" });
  const back = await startBroker(stack, {}, port);
  try {
    await view.wrapper.act(async () => view.wrapper.findAll(Button).find((b) => b.text === 'Retry')!.trigger('onPress'));
    await view.until(() => Boolean(signInView(view.wrapper)?.prop('primaryAction')?.onPress));
  } finally {
    await back.stop();
  }
});

test('without secret_write the view says so instead of failing', async () => {
  useUser('test', ['event_read']);
  const view = await renderView(App, contextFor(user, constants()));
  await view.until(() => view.wrapper.find(Banner) !== null);
  expect(view.wrapper).toContainComponent(Banner, { type: 'caution', title: 'Permission needed' });
});

test('without a user id the view says so', async () => {
  const view = await renderView(App, contextFor({ ...user, userId: undefined }, constants()));
  await view.until(() => view.wrapper.find(Banner) !== null);
  expect(view.wrapper).toContainComponent(Banner, { type: 'critical', title: 'No Dashboard user' });
});

test('a configuration problem is shown, all problems at once', async () => {
  const view = await renderView(App, contextFor(user, { PROVIDER: 'generic', BACKEND_URL: 'ftp://nope' }));
  await view.until(() => view.wrapper.find(Banner) !== null);
  const description = view.wrapper.find(Banner)!.prop('description') as string;
  expect(description).toContain('CLIENT_ID is not set.');
  expect(description).toContain('BACKEND_URL must be an https URL');
  expect(description).toContain('AUTHORIZE_URL is not set.');
});
