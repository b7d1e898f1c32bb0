/**
 * The older host's path: the host answers `supportsFetchAppEmbeddedKey()` with false, so the SDK
 * signs and reaches the Secret Store through host calls (the other view tests take today's
 * path, the app embedded key). The SDK picks its path once per module registry: hence a file.
 */
import { Badge, Button } from '@stripe/ui-extension-sdk/ui';
import AppSettings from '../../src/views/AppSettings';
import { toWire } from '../../src/common/connection-id';
import { brokerSuite, TestBroker } from '../support/in-process-broker';
import { connect } from '../support/signed-calls';
import { Stack, storedSecrets } from '../support/stack';
import { installDashboard, uninstallDashboard } from '../support/dashboard-double';
import { contextFor, renderView } from '../support/render';

let stack: Stack;
let broker: TestBroker;

brokerSuite((started) => ({ stack, broker } = started));
afterAll(uninstallDashboard);

test('through host calls: the settings view shows the connection and disconnects it, signed by the host', async () => {
  const user = { userId: 'usr_host_calls', accountId: 'acct_hostcalls', mode: 'test' as const };
  const double = installDashboard({ ...user, emulatorUrl: stack.emulatorUrl, hostCalls: true });
  expect((await connect(stack, broker, toWire(user), { login: 'bob' })).status).toBe(200);
  const constants = { PROVIDER: 'dev', CLIENT_ID: 'stripe-app-dev', BACKEND_URL: broker.url, API_BASE_URL: `${stack.provider.issuer}/api` };
  const view = await renderView(AppSettings, contextFor(user, constants));
  await view.until(() => view.wrapper.find(Badge)?.text === 'Connected');
  await view.wrapper.act(async () => view.wrapper.find(Button, { type: 'destructive' })!.trigger('onPress'));
  await view.until(() => view.wrapper.find(Badge)?.text === 'Not connected');
  expect(await storedSecrets(stack, toWire(user))).toEqual({ access: undefined, refresh: undefined });
  expect(double.used.hostCalls).toBeGreaterThan(0);
  expect(double.used.embeddedKey).toBe(0);
});
