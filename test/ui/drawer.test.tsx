import { Banner, Button, PropertyListItem, SignInView, Spinner } from '@stripe/ui-extension-sdk/ui';
import { APP_ID } from '../../src/lib/app-id';
import { setDashboardAdapter } from '../../src/lib/dashboard';
import { dashboardRedirectUri } from '../../src/lib/redirect-uri';
import App from '../../src/views/App';
import { brokerSuite, providerStats, startBroker, Stack, storedSecrets, TestBroker } from '../support/broker';
import { dashboardDouble, DashboardDouble } from '../support/dashboard-double';
import { contextFor, renderView, ViewUser } from '../support/render';
import { authorizeInProvider } from '../support/user-agent';

let stack: Stack;
let broker: TestBroker;
let users = 0;
let user: ViewUser & { userId: string };
let double: DashboardDouble;

const constants = (extra: Record<string, string> = {}) => ({
  PROVIDER: 'dev',
  CLIENT_ID: 'stripe-app-dev',
  BACKEND_URL: broker.url,
  AUTHORIZE_URL: `${stack.provider.issuer}/auth`,
  TOKEN_URL: `${stack.provider.issuer}/token`,
  PROFILE_URL: `${stack.provider.issuer}/me`,
  ...extra,
});
const asBrokerUser = (u: ViewUser & { userId: string }) => ({ user_id: u.userId, account_id: u.accountId, mode: u.mode });

function useUser(mode: 'test' | 'live' = 'test', permissions?: string[]) {
  user = { userId: `usr_drawer${++users}`, accountId: 'acct_drawer', mode };
  double = dashboardDouble({ ...user, emulatorUrl: stack.emulatorUrl, permissions });
  setDashboardAdapter(double);
}

brokerSuite((started) => ({ stack, broker } = started));
afterAll(() => setDashboardAdapter(undefined));
beforeEach(() => {
  stack.clock.offset = 0;
  useUser();
});

const signInView = (wrapper: Awaited<ReturnType<typeof renderView>>['wrapper']) => wrapper.find(SignInView);

/** Renders the drawer signed out and returns the Connect link once it is ready. */
async function connectLink(extra: Record<string, string> = {}): Promise<string> {
  const view = await renderView(App, contextFor(user, constants(extra)));
  await view.until(() => Boolean(signInView(view.wrapper)?.prop('primaryAction')?.href));
  return signInView(view.wrapper)!.prop('primaryAction')!.href!;
}

/** Goes through the provider as the user would and returns the `oauthContext` the Dashboard hands back. */
async function signInAtProvider(link: string, options: { decision?: 'allow' | 'deny' } = {}) {
  const redirect = dashboardRedirectUri(APP_ID, user.mode);
  const callback = await authorizeInProvider(link, redirect, { user: 'alice', decision: options.decision });
  return { oauthContext: double.oauthContextFor(callback), fullState: callback.searchParams.get('state')! };
}

test('signed out: loading first, then a Connect link to the provider with PKCE, state and the test-mode redirect URI', async () => {
  const view = await renderView(App, contextFor(user, constants()));
  expect(view.wrapper).toContainComponent(Spinner);
  await view.until(() => Boolean(signInView(view.wrapper)?.prop('primaryAction')?.href));
  const link = new URL(signInView(view.wrapper)!.prop('primaryAction')!.href!);
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
  const secrets = await storedSecrets(stack, asBrokerUser(user));
  expect(secrets.access).toBeDefined();
  expect(secrets.refresh).toBeDefined();
  expect((await providerStats(stack)).token.authorization_code?.[200]).toBeGreaterThanOrEqual(1);
  const exchangesBefore = (await providerStats(stack)).token.authorization_code?.[200];

  // oauthContext stays until the Dashboard reloads: rendering again must not exchange the code again.
  const replay = await renderView(App, contextFor(user, constants(), ret));
  await replay.until(() => replay.wrapper.findAll(PropertyListItem).length > 0);
  expect((await providerStats(stack)).token.authorization_code?.[200]).toBe(exchangesBefore);
  expect(replay.wrapper).not.toContainComponent(Banner);

  const disconnect = replay.wrapper.findAll(Button).find((b) => b.prop('type') === 'destructive')!;
  await replay.wrapper.act(async () => disconnect.trigger('onPress'));
  await replay.until(() => Boolean(signInView(replay.wrapper)?.prop('primaryAction')?.href));
  expect(await storedSecrets(stack, asBrokerUser(user))).toEqual({ access: undefined, refresh: undefined });
});

test('a Dashboard that hands back the whole state (not just the embedded value) is accepted too', async () => {
  const { oauthContext, fullState } = await signInAtProvider(await connectLink());
  const view = await renderView(App, contextFor(user, constants(), { ...oauthContext, state: fullState }));
  await view.until(() => view.wrapper.findAll(PropertyListItem).length > 0);
  expect(view.wrapper).not.toContainComponent(Banner);
});

test('a provider error comes back as a critical Banner with a fresh Connect link', async () => {
  const { oauthContext: ret } = await signInAtProvider(await connectLink(), { decision: 'deny' });
  expect(ret.error).toBe('access_denied');
  const view = await renderView(App, contextFor(user, constants(), ret));
  await view.until(() => view.wrapper.find(Banner) !== null);
  expect(view.wrapper).toContainComponent(Banner, { type: 'critical', title: 'Connecting failed' });
  expect(view.wrapper.find(Banner)!.prop('description')).toContain('access_denied');
  // A fresh Connect link is ready for another try.
  await view.until(() => Boolean(view.wrapper.find(Button, { type: 'primary' })?.prop('href')));
});

test('a state that this app did not issue is refused without an exchange', async () => {
  const { oauthContext: ret } = await signInAtProvider(await connectLink());
  const before = (await providerStats(stack)).token.authorization_code?.[200] ?? 0;
  const forged = { ...ret, state: 'a-state-from-somewhere-else' };
  const view = await renderView(App, contextFor(user, constants(), forged));
  await view.until(() => view.wrapper.find(Banner) !== null);
  expect(view.wrapper.find(Banner)!.prop('description')).toMatch(/does not match/);
  expect((await providerStats(stack)).token.authorization_code?.[200] ?? 0).toBe(before);
  expect(await storedSecrets(stack, asBrokerUser(user))).toEqual({ access: undefined, refresh: undefined });
});

test('a revoked connection shows "Reconnect required" with a Connect link', async () => {
  const { oauthContext: ret } = await signInAtProvider(await connectLink());
  const connected = await renderView(App, contextFor(user, constants(), ret));
  await connected.until(() => connected.wrapper.findAll(PropertyListItem).length > 0);
  const { refresh } = await storedSecrets(stack, asBrokerUser(user));
  await fetch(`${stack.provider.issuer}/token/revocation`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: refresh!.payload.refresh_token, client_id: 'stripe-app-dev' }),
  });
  stack.clock.offset += 400; // the access secret expires in the store
  const view = await renderView(App, contextFor(user, constants()));
  await view.until(() => view.wrapper.find(Banner) !== null);
  expect(view.wrapper).toContainComponent(Banner, { type: 'caution', title: 'Reconnect required' });
  await view.until(() => Boolean(view.wrapper.find(Button, { type: 'primary' })?.prop('href')));
  expect(view.wrapper.find(Button, { type: 'primary' })!.prop('href')).toContain(`${stack.provider.issuer}/auth?`);
});

test('extension exchange mode: the view exchanges at the provider, stores the tokens itself and registers them', async () => {
  const { oauthContext: ret } = await signInAtProvider(await connectLink({ EXCHANGE_MODE: 'extension' }));
  const view = await renderView(App, contextFor(user, constants({ EXCHANGE_MODE: 'extension' }), ret));
  await view.until(() => view.wrapper.findAll(PropertyListItem).length > 0);
  const secrets = await storedSecrets(stack, asBrokerUser(user));
  expect(secrets.refresh!.payload).toMatchObject({ generation: 1, refresh_token: expect.any(String) });
  expect(await broker.registry.get({ accountId: user.accountId, userId: user.userId, mode: 'test' })).toMatchObject({ status: 'connected' });
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
    await view.until(() => Boolean(signInView(view.wrapper)?.prop('primaryAction')?.href));
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
