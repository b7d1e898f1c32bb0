import { useEffect, useReducer } from 'react';

/** setTimeout's longest delay (about 24.8 days); a longer one would fire at once. */
const MAX_DELAY_MS = 2 ** 31 - 1;

/** Whether the time `unixSeconds` has come, turning true when it does: a view stays open while its token expires. */
export function usePassed(unixSeconds: number): boolean {
  const [, wake] = useReducer((n: number) => n + 1, 0);
  const passed = unixSeconds * 1000 <= Date.now();
  // After each render: a timer that fired early wakes a render that sets it again.
  useEffect(() => {
    if (passed) return;
    const timer = setTimeout(wake, Math.min(unixSeconds * 1000 - Date.now(), MAX_DELAY_MS));
    return () => clearTimeout(timer);
  });
  return passed;
}
