/**
 * The extension's flow without React: the view-state machine, the ledger of handled returns,
 * and the flow functions against the Dashboard double and a real backend.
 */
import { readAppConfig } from '../../src/lib/app-config';
import { completeSignIn, FlowError, HandledReturns, loadAccess, prepareSignIn, providerErrorMessage, type FlowContext } from '../../src/lib/connection-flow';
import { INITIAL_STATE, transition, type ViewState } from '../../src/lib/view-state';
import { APP_ID } from '../../src/common/app-id';
import type { DashboardUserId } from '../../src/common/connection-id';
import { dashboardRedirectUri } from '../../src/common/redirect-uri';
import { installDashboard, uninstallDashboard } from '../support/dashboard-double';
import { providerStats } from '../support/dev-provider';
import { brokerSuite, TestBroker } from '../support/in-process-broker';
import type { Stack } from '../support/stack';
import { authorizeInProvider } from '../support/user-agent';

describe('the view-state machine', () => {
  const usable = { kind: 'usable' as const, accessToken: 't', expiresAt: 1, scope: null };
  const signedOut = (reason: Extract<ViewState, { name: 'signed_out' }>['reason']): ViewState => ({ name: 'signed_out', reason });

  test('loading ends connected, signed out, or asking to reconnect', () => {
    expect(transition(INITIAL_STATE, { type: 'loaded', access: usable, who: null })).toEqual({ name: 'connected', access: usable, who: null });
    expect(transition(INITIAL_STATE, { type: 'loaded', access: { kind: 'none' }, who: null })).toEqual(signedOut({ kind: 'new' }));
    expect(transition(INITIAL_STATE, { type: 'loaded', access: { kind: 'lost' }, who: null })).toEqual(signedOut({ kind: 'reconnect' }));
    expect(transition({ name: 'exchanging' }, { type: 'loaded', access: { kind: 'lost' }, who: null, failure: 'no' }))
      .toEqual(signedOut({ kind: 'failed', message: 'no', reconnect: true }));
  });

  test('Connect goes from signed out to preparing to ready, keeping why the user is signed out', () => {
    const preparing = transition(signedOut({ kind: 'reconnect' }), { type: 'connect_pressed' });
    expect(preparing).toEqual({ name: 'preparing_sign_in', reason: { kind: 'reconnect' } });
    expect(transition(preparing, { type: 'sign_in_prepared', authorizeUrl: 'https://p/auth' }))
      .toEqual({ name: 'ready_to_sign_in', reason: { kind: 'reconnect' }, authorizeUrl: 'https://p/auth' });
  });

  test('events that do not apply leave the state as it is', () => {
    const connected: ViewState = { name: 'connected', access: usable, who: null };
    expect(transition(connected, { type: 'connect_pressed' })).toBe(connected);
    expect(transition(connected, { type: 'sign_in_prepared', authorizeUrl: 'x' })).toBe(connected);
    expect(transition(signedOut({ kind: 'new' }), { type: 'disconnect_pressed' })).toEqual(signedOut({ kind: 'new' }));
    expect(transition(connected, { type: 'disconnect_pressed' })).toEqual({ name: 'disconnecting' });
  });
});

describe('handled returns', () => {
  test('a code counts once, errors per state, and each ledger is its own', () => {
    const handled = new HandledReturns();
    expect(handled.isNew(undefined)).toBe(false);
    expect(handled.isNew({})).toBe(false);
    const ret = { code: 'c1', state: 's1', verifier: 'v' };
    expect(handled.isNew(ret)).toBe(true);
    handled.add(ret);
    expect(handled.isNew(ret)).toBe(false);
    expect(handled.isNew({ error: 'access_denied', state: 's1' })).toBe(true);
    expect(new HandledReturns().isNew(ret)).toBe(true);
  });

  test("provider errors are fixed messages; unknown codes and the object's own keys are not", () => {
    expect(providerErrorMessage('access_denied')).toBe('Access was declined at the provider.');
    for (const code of ['whatever', '__proto__', 'constructor', undefined]) expect(providerErrorMessage(code)).toBe('The provider did not grant access.');
  });
});

describe('the flow functions against the Dashboard double and a real backend', () => {
  let stack: Stack;
  let broker: TestBroker;
  brokerSuite((started) => ({ stack, broker } = started));
  afterAll(uninstallDashboard);

  const caller: DashboardUserId = { userId: 'usr_flow1', accountId: 'acct_flow', mode: 'test' };
  const context = (): FlowContext => {
    const config = readAppConfig({ PROVIDER: 'dev', CLIENT_ID: 'stripe-app-dev', BACKEND_URL: broker.url, AUTHORIZE_URL: `${stack.provider.issuer}/auth` });
    if (!config.ok) throw new Error(config.problems.join(' '));
    return { config: config.config, caller, appId: APP_ID, handled: new HandledReturns() };
  };

  test('a sign-in: prepared, returned, exchanged once; the same return again is a state mismatch and exchanges nothing', async () => {
    const double = installDashboard({ ...caller, emulatorUrl: stack.emulatorUrl });
    const ctx = context();
    expect(await loadAccess(ctx)).toEqual({ kind: 'none' });
    const link = await prepareSignIn(ctx);
    const callback = await authorizeInProvider(link, dashboardRedirectUri(APP_ID, 'test'), { user: 'alice' });
    const ret = double.oauthContextFor(callback);
    expect(ctx.handled.isNew(ret)).toBe(true);
    expect(await completeSignIn(ctx, ret)).toMatchObject({ kind: 'usable', accessToken: expect.any(String) });
    expect(ctx.handled.isNew(ret)).toBe(false);
    const exchanges = (await providerStats(stack)).token.authorization_code?.[200];
    await expect(completeSignIn(context(), ret)).rejects.toEqual(expect.any(FlowError));
    await expect(completeSignIn(context(), ret)).rejects.toMatchObject({ kind: 'state_mismatch' });
    expect((await providerStats(stack)).token.authorization_code?.[200]).toBe(exchanges);
  });
});
