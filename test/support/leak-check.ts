/**
 * The leak check every suite ends with: nothing the backends logged or printed contains a token,
 * code, verifier or secret the suite handled.
 */
import { Writable } from 'node:stream';
import { CONFIDENTIAL_CLIENT_SECRET } from '../../server/local/oauth-provider/clients';
import { KEYS, SIGNING_SECRET, WEBHOOK_SECRET } from './fixtures';

/** Every token, code and verifier a suite handled. */
export const seenSecrets = new Set<string>([SIGNING_SECRET, WEBHOOK_SECRET, KEYS.test, KEYS.live, CONFIDENTIAL_CLIENT_SECRET]);

/** Everything the in-process backends logged during a suite. */
export const logLines: string[] = [];
export const logSink = new Writable({
  write(chunk, _enc, done) {
    logLines.push(chunk.toString());
    done();
  },
});

/** Nothing in `texts` (log lines, a child process's output) contains a secret the suite saw. */
export function expectNoSecretsIn(texts: string[]): void {
  expect(texts.length).toBeGreaterThan(0);
  const leaks = [...seenSecrets].filter((secret) => texts.some((text) => text.includes(secret)));
  expect(leaks).toEqual([]);
}
