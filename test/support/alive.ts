/**
 * The fault suites' final check: a connection survived when the refresh token the Secret Store
 * holds still works at the provider. It is spent by the check, so this runs last in a test.
 */
import * as client from 'openid-client';
import { PUBLIC_CLIENT_ID } from '../../server/local/oauth-provider/clients';
import { discover } from './dev-provider';
import { eventually, type User } from './fixtures';
import { seenSecrets } from './leak-check';
import { type Stack, storedSecrets } from './stack';

/** `settled` (e.g. an empty outbox) is awaited first, for at most 10 s. */
export async function expectAllAlive(stack: Stack, users: User[], settled: () => Promise<boolean> = async () => true): Promise<void> {
  expect(await eventually(settled, 10_000)).toBe(true);
  const config = await discover(stack.provider.issuer, PUBLIC_CLIENT_ID);
  const dead: string[] = [];
  for (const user of users) {
    const { refresh } = await storedSecrets(stack, user);
    try {
      const fresh = await client.refreshTokenGrant(config, refresh!.payload.refresh_token);
      seenSecrets.add(fresh.access_token);
      if (fresh.refresh_token) seenSecrets.add(fresh.refresh_token);
    } catch {
      dead.push(user.user_id);
    }
  }
  expect(dead).toEqual([]);
}
