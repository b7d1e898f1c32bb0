/**
 * What the soaks tally: each call's outcome, and the check that nothing unexpected happened —
 * not only that nobody was told to reconnect, but no 5xx the fault does not explain and no token
 * served after its expiry.
 */
import { unixNow } from '../../src/common/clock';
import type { ApiAnswer } from './signed-calls';

export type Outcomes = Record<string, number>;

/** `200`, `expired` (a 200 whose token had already expired), the error code, or `unreachable` (no answer). */
export function outcomeOf(answer: ApiAnswer | undefined): string {
  if (!answer) return 'unreachable';
  if (answer.status === 200) return typeof answer.body.expires_at === 'number' && answer.body.expires_at <= unixNow() ? 'expired' : '200';
  return answer.body.error?.code ?? String(answer.status);
}

/**
 * Counts one call's outcome. A token that expired while the instance that answered was paused
 * (`pausedMeanwhile`: SIGSTOP during the call) is the pause's: it was handed over with time
 * left, and the frozen process delivered it late, which no server can prevent.
 */
export function tally(outcomes: Outcomes, answer: ApiAnswer | undefined, pausedMeanwhile = false): void {
  const found = outcomeOf(answer);
  const outcome = found === 'expired' && pausedMeanwhile ? 'expired_in_pause' : found;
  outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
}

/**
 * Every outcome is one of `allowed` (with `200` among them, and seen). An unexpected one fails
 * with the backends' `request failed` lines (from `logs`, their output), which say what threw.
 */
export function expectOnly(outcomes: Outcomes, allowed: string[], logs: () => string[] = () => []): void {
  const unexpected = Object.keys(outcomes).filter((outcome) => !['200', ...allowed].includes(outcome));
  const failed = unexpected.length > 0 ? logs().flatMap((text) => text.split('\n')).filter((line) => line.includes('request failed')) : [];
  expect({ unexpected, failed }).toEqual({ unexpected: [], failed: [] });
  expect(outcomes['200']).toBeGreaterThan(0);
}
