import { Badge, Banner, Button, PropertyListItem } from '@stripe/ui-extension-sdk/ui';
import AppSettings from '../../src/views/AppSettings';
import { toWire } from '../../src/common/connection-id';
import { SECRET_NAMES } from '../../src/common/token-layout';
import { createStripeClient } from '../../server/stripe-client';
import { KEYS } from '../support/fixtures';
import { brokerSuite, TestBroker } from '../support/in-process-broker';
import { connect } from '../support/signed-calls';
import { Stack, storedSecrets } from '../support/stack';
import { installDashboard, uninstallDashboard } from '../support/dashboard-double';
import { contextFor, renderView } from '../support/render';

let stack: Stack;
let broker: TestBroker;

brokerSuite((started) => ({ stack, broker } = started));
afterAll(uninstallDashboard);

const user = (id: string) => ({ userId: id, accountId: 'acct_settings', mode: 'test' as const });
const constants = () => ({ PROVIDER: 'dev', CLIENT_ID: 'stripe-app-dev', BACKEND_URL: broker.url, API_BASE_URL: `${stack.provider.issuer}/api` });

function asUser(u: ReturnType<typeof user>) {
  installDashboard({ ...u, emulatorUrl: stack.emulatorUrl });
}

test('not connected: a status badge and where to connect, and no state secret is written', async () => {
  const u = user('usr_settings_new');
  asUser(u);
  const view = await renderView(AppSettings, contextFor(u, constants()));
  await view.until(() => view.wrapper.find(Badge) !== null);
  expect(view.wrapper).toContainComponent(Badge, { type: 'neutral' });
  expect(view.wrapper.find(Badge)!.text).toBe('Not connected');
  expect(view.wrapper).toContainText("open this app from the Dashboard's app drawer");
  expect(view.wrapper).not.toContainComponent(Banner);
  const stateSecret = createStripeClient(KEYS.test, { apiBase: stack.emulatorUrl, maxNetworkRetries: 0, stripeAccount: u.accountId })
    .apps.secrets.find({ name: SECRET_NAMES.state, scope: { type: 'user', user: u.userId } });
  await expect(stateSecret).rejects.toMatchObject({ statusCode: 404 });
});

test('connected: status, expiry and Disconnect, which removes the connection', async () => {
  const u = user('usr_settings_on');
  asUser(u);
  const brokerUser = toWire(u);
  expect((await connect(stack, broker, brokerUser, { login: 'bob' })).status).toBe(200);
  const view = await renderView(AppSettings, contextFor(u, constants()));
  await view.until(() => view.wrapper.findAll(PropertyListItem).length > 0);
  expect(view.wrapper.find(Badge)!.text).toBe('Connected');
  expect(view.wrapper).toContainComponent(PropertyListItem, { label: 'Dev provider account', value: 'Bob Example' });
  expect(view.wrapper).toContainComponent(PropertyListItem, { label: 'Scope', value: 'openid profile offline_access' });
  expect(view.wrapper).toContainComponent(PropertyListItem, { label: 'Access token expires' });
  await view.wrapper.act(async () => view.wrapper.find(Button, { type: 'destructive' })!.trigger('onPress'));
  await view.until(() => view.wrapper.find(Badge)?.text === 'Not connected');
  expect(await storedSecrets(stack, brokerUser)).toEqual({ access: undefined, refresh: undefined });
});

test('an open view whose access token runs out says it expired, not "expires" with a time past', async () => {
  const u = user('usr_settings_expiring');
  asUser(u);
  // The backend's clock behind the view's: the token it serves as fresh runs out 3 s from now by the view's.
  stack.clock.offset = -57;
  try {
    expect((await connect(stack, broker, toWire(u))).status).toBe(200);
    const view = await renderView(AppSettings, contextFor(u, constants()));
    const expiry = () => view.wrapper.findAll(PropertyListItem).find((item) => String(item.prop('label')).startsWith('Access token'));
    await view.until(() => expiry()?.prop('label') === 'Access token expired');
    expect(expiry()!.prop('value')).toMatch(/; the next request for it gets a new one$/);
  } finally {
    stack.clock.offset = 0;
  }
});
