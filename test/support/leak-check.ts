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

/**
 * The leak check, as an assertion of each test: after every test, nothing in `texts()` (log lines,
 * children's output so far; each entry may only grow) contains a secret the suite saw. What was
 * checked before is checked again only against secrets seen since. After the suite, that there was
 * something to check at all.
 */
export function checkForLeaksAfterEachTest(texts: () => string[]): void {
  const checkedLengths: number[] = [];
  let checkedSecrets = 0;
  let tests = 0;
  afterEach(() => {
    tests++;
    const all = texts();
    const secrets = [...seenSecrets];
    const leaks = secrets.filter((secret, i) => all.some((text, j) => (i >= checkedSecrets || text.length !== checkedLengths[j]) && text.includes(secret)));
    all.forEach((text, j) => (checkedLengths[j] = text.length));
    checkedSecrets = secrets.length;
    expect(leaks).toEqual([]);
  });
  afterAll(() => expect(tests === 0 || texts().length > 0).toBe(true));
}
