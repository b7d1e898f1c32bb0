/**
 * The server-side example (server/examples/customer-notes.ts) with the services of `npm start`:
 * an OAuth provider and an API-key provider that reach the same API. A new customer is noted
 * once, as the account's API key, not once more through the user's OAuth connection.
 */
import { customerNotes } from '../../server/examples/customer-notes';
import { OAuthClient } from '../../server/broker/oauth-client';
import { PUBLIC_CLIENT_ID } from '../../server/local/oauth-provider/clients';
import { discover, exchange } from '../support/dev-provider';
import { newUser } from '../support/fixtures';
import { startBroker, type TestBroker } from '../support/in-process-broker';
import { checkForLeaksAfterEachTest, logLines, seenSecrets } from '../support/leak-check';
import { authorize, call, postStripeEvent } from '../support/signed-calls';
import { type Stack, startStack } from '../support/stack';

let stack: Stack;
let broker: TestBroker;

beforeAll(async () => {
  stack = await startStack();
  const api = { bases: [new URL(`${stack.provider.issuer}/api`)], forwardHeaders: [], maxResponseBytes: 1024 * 1024, timeoutMs: 3000 };
  broker = await startBroker(stack, {
    providers: [
      { name: 'dev', kind: 'oauth', oauth: await OAuthClient.create({ issuer: new URL(stack.provider.issuer), clientId: PUBLIC_CLIENT_ID, clientAuth: 'client_secret_post', timeoutSeconds: 2 }), defaultAccessLifetimeSeconds: 3600, api },
      { name: 'notes', kind: 'api_key', api, apiKey: { header: 'authorization', prefix: 'Bearer ', verifyPath: '/me' } },
    ],
    stripeEventHandlers: customerNotes,
  });
}, 60_000);
checkForLeaksAfterEachTest(() => logLines);
afterAll(async () => {
  await broker?.stop();
  await stack?.close();
});

test('a customer.created is noted once, as the account\'s API key, while the user\'s OAuth connection reaches the same API', async () => {
  const user = newUser('notes', { account_id: 'acct_notedonce' });
  expect((await call(broker, '/api/oauth/exchange', user, { provider: 'dev', ...(await authorize(stack)) })).body.status).toBe('connected');
  // alice's own key, made as on the provider's site.
  const tokens = await exchange(await discover(stack.provider.issuer, PUBLIC_CLIENT_ID), { user: 'alice' });
  seenSecrets.add(tokens.access_token);
  const { api_key } = (await (await fetch(`${stack.provider.issuer}/api/keys`, { method: 'POST', headers: { authorization: `Bearer ${tokens.access_token}` } })).json()) as { api_key: string };
  seenSecrets.add(api_key);
  expect((await call(broker, '/api/credentials', user, { provider: 'notes', api_key })).status).toBe(200);

  const res = await postStripeEvent(broker, {
    id: 'evt_noted_once', object: 'event', type: 'customer.created', account: user.account_id, livemode: false,
    data: { object: { id: 'cus_NotedOnce', object: 'customer', name: 'Jenny Rosen' } },
  });
  expect(res.status).toBe(200);
  const notes = (await (await fetch(`${stack.provider.issuer}/api/notes`, { headers: { authorization: `Bearer ${api_key}` } })).json()) as { data: Array<{ text: string }> };
  expect(notes.data.map((note) => note.text).filter((text) => text.includes('cus_NotedOnce'))).toEqual(['New Stripe customer cus_NotedOnce (Jenny Rosen)']);
});
