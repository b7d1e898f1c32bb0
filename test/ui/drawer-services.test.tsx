/**
 * The drawer with several providers (SERVICES; docs/services.md) against a backend of three: two
 * dev providers (each its own server and grants) and an API-key provider. Each section connects on
 * its own; a return is taken by the section of the provider its sign-in was started for, and its
 * code goes to that provider only (the mix-up defence: no `iss` reaches a Stripe app).
 */
import { Badge, Banner, Button, TextField } from '@stripe/ui-extension-sdk/ui';
import { APP_ID } from '../../src/common/app-id';
import type { DashboardUserId } from '../../src/common/connection-id';
import { dashboardRedirectUri } from '../../src/common/redirect-uri';
import { readServices, type OAuthService } from '../../src/lib/services';
import { completeSignIn, FlowError, HandledReturns, prepareSignIn } from '../../src/lib/connection-flow';
import App from '../../src/views/App';
import AppSettings from '../../src/views/AppSettings';
import { makeApiKey, providerStats, startTestProvider, type TestProvider } from '../support/dev-provider';
import { DashboardDouble, installDashboard, uninstallDashboard } from '../support/dashboard-double';
import { apiKeyProvider, oauthProvider, startBroker, type TestBroker } from '../support/in-process-broker';
import { checkForLeaksAfterEachTest, logLines } from '../support/leak-check';
import { contextFor, renderView } from '../support/render';
import { type Stack, startStack } from '../support/stack';
import { authorizeInProvider } from '../support/user-agent';

let stack: Stack;
let other: TestProvider;
let broker: TestBroker;
let users = 0;
let user: DashboardUserId;
let double: DashboardDouble;

beforeAll(async () => {
  stack = await startStack();
  other = await startTestProvider(['--access-ttl', '61']);
  broker = await startBroker(stack, {
    providers: [await oauthProvider('dev', stack.provider.issuer), await oauthProvider('other', other.issuer), apiKeyProvider('notes', stack.provider.issuer)],
  });
}, 60_000);
checkForLeaksAfterEachTest(() => logLines);
afterAll(async () => {
  uninstallDashboard();
  await broker?.stop();
  await other?.stop();
  await stack?.close();
});
beforeEach(() => {
  user = { userId: `usr_services${++users}`, accountId: `acct_services${users}`, mode: 'test' };
  double = installDashboard({ ...user, emulatorUrl: stack.emulatorUrl });
});

const devProvider = (issuer: string) => ({ PROVIDER: 'dev', CLIENT_ID: 'stripe-app-dev', AUTHORIZE_URL: `${issuer}/auth`, API_BASE_URL: `${issuer}/api` });
const constants = () => ({
  BACKEND_URL: broker.url,
  SERVICES: { dev: devProvider(stack.provider.issuer), other: { ...devProvider(other.issuer), LABEL: 'Other provider' }, notes: { KIND: 'api_key', LABEL: 'Notes' } },
}) as unknown as Record<string, string>;

type View = Awaited<ReturnType<typeof renderView>>;
const button = (view: View, text: string) => view.wrapper.findAll(Button).find((b) => b.text === text);
const badges = (view: View) => view.wrapper.findAll(Badge).map((b) => b.text);
const codesAt = async (provider: { control: TestProvider['control'] }) => Object.values(((await provider.control('/dev/stats')) as { token: Record<string, Record<string, number>> }).token.authorization_code ?? {}).reduce((a, b) => a + b, 0);

/** Presses a section's Connect and returns its link to the provider. */
async function connectLink(view: View, label: string): Promise<URL> {
  await view.until(() => Boolean(button(view, `Connect ${label}`)));
  await view.wrapper.act(async () => button(view, `Connect ${label}`)!.trigger('onPress'));
  await view.until(() => Boolean(button(view, `Continue to ${label}`)?.prop('href')));
  return new URL(button(view, `Continue to ${label}`)!.prop('href') as string);
}

test('each provider has its own section; a sign-in started for one connects that one only, at its own provider', async () => {
  const view = await renderView(App, contextFor(user, constants()));
  await view.until(() => badges(view).filter((b) => b === 'Not connected').length === 2 && badges(view).includes('No key'));
  const link = await connectLink(view, 'Other provider');
  expect(link.origin).toBe(other.issuer);
  const callback = await authorizeInProvider(link, dashboardRedirectUri(APP_ID, user.mode), { user: 'alice' });
  const [atDev, atOther] = [await codesAt(stack.provider), await codesAt(other)];

  const back = await renderView(App, contextFor(user, constants(), double.oauthContextFor(callback)));
  await back.until(() => badges(back).includes('Connected'));
  expect(badges(back).filter((b) => b === 'Connected' || b === 'Not connected')).toEqual(['Not connected', 'Connected']);
  expect(Boolean(button(back, 'Disconnect Other provider'))).toBe(true);
  expect([await codesAt(stack.provider), await codesAt(other)]).toEqual([atDev, atOther + 1]);
});

test('mix-up: a code that comes back for a sign-in started for dev goes to dev, never to the provider that issued it', async () => {
  const view = await renderView(App, contextFor(user, constants()));
  const link = await connectLink(view, 'Dev provider');
  // Another provider answers with its code, on the state of the sign-in started for dev.
  const mixed = new URL(`${other.issuer}/auth${link.search}`);
  const callback = await authorizeInProvider(mixed, dashboardRedirectUri(APP_ID, user.mode), { user: 'alice' });
  const [atDev, atOther] = [(await providerStats(stack)).token.authorization_code?.['400'] ?? 0, await codesAt(other)];

  const back = await renderView(App, contextFor(user, constants(), double.oauthContextFor(callback)));
  await back.until(() => back.wrapper.findAll(Banner).some((b) => b.prop('title') === 'Connecting failed'));
  expect([(await providerStats(stack)).token.authorization_code?.['400'] ?? 0, await codesAt(other)]).toEqual([atDev + 1, atOther]);
  expect(badges(back)).not.toContain('Connected');
});

test("a return is exchanged only by the flow of the provider it was started for: another provider's refuses it before any call", async () => {
  const result = readServices(constants());
  if (!result.ok) throw new Error(result.problems.join(' '));
  const [dev, second] = result.services as OAuthService[];
  const ctx = (config: OAuthService) => ({ config, caller: user, appId: APP_ID, handled: new HandledReturns() });
  const link = new URL(await prepareSignIn(ctx(dev)));
  const callback = await authorizeInProvider(link, dashboardRedirectUri(APP_ID, user.mode), { user: 'alice' });
  const [atDev, atOther] = [await codesAt(stack.provider), await codesAt(other)];
  await expect(completeSignIn(ctx(second), double.oauthContextFor(callback))).rejects.toEqual(new FlowError('state_mismatch', 'This sign-in was started for another provider. Connect again.'));
  expect([await codesAt(stack.provider), await codesAt(other)]).toEqual([atDev, atOther]);
});

test('an API key: typed into a masked field, saved for the account, shown as saved in the drawer and settings, never shown back', async () => {
  const key = await makeApiKey(stack.provider);
  const view = await renderView(App, contextFor(user, constants()));
  await view.until(() => Boolean(view.wrapper.find(TextField)));
  expect(view.wrapper.find(TextField)!.prop('type')).toBe('password');
  await view.wrapper.act(async () => view.wrapper.find(TextField)!.trigger('onChange', { target: { value: key } }));
  await view.wrapper.act(async () => button(view, 'Save')!.trigger('onPress'));
  await view.until(() => badges(view).includes('Key saved'));
  expect(view.wrapper.find(TextField)!.prop('value')).toBe('');
  expect(view.wrapper.debug()).not.toContain(key);

  const settings = await renderView(AppSettings, contextFor(user, constants()));
  await settings.until(() => badges(settings).includes('Key saved'));
  expect(settings.wrapper.find(TextField)).toBeNull();
  await settings.wrapper.act(async () => button(settings, 'Disconnect Notes')!.trigger('onPress'));
  await settings.until(() => badges(settings).includes('No key'));
});

test('a key the provider refuses is said, and nothing is saved', async () => {
  const view = await renderView(App, contextFor(user, constants()));
  await view.until(() => Boolean(view.wrapper.find(TextField)));
  await view.wrapper.act(async () => view.wrapper.find(TextField)!.trigger('onChange', { target: { value: 'devkey_not-a-key-it-made' } }));
  await view.wrapper.act(async () => button(view, 'Save')!.trigger('onPress'));
  await view.until(() => view.wrapper.findAll(Banner).some((b) => String(b.prop('description')).includes('refused this API key')));
  await view.wrapper.act(async () => button(view, 'Retry')!.trigger('onPress'));
  await view.until(() => badges(view).includes('No key'));
});
