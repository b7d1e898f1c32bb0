/** The page's calls to its server, by the endpoint names of ../api.ts. */
import { CONSOLE_API, type ConsoleSnapshot } from '../api';

export async function post<T>(endpoint: (typeof CONSOLE_API)[keyof typeof CONSOLE_API], body: object = {}): Promise<T> {
  const res = await fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const answer = await res.json();
  if (!res.ok) throw new Error(answer.error?.message ?? `${endpoint} answered ${res.status}`);
  return answer as T;
}

export async function snapshot(): Promise<ConsoleSnapshot | undefined> {
  const res = await fetch(CONSOLE_API.state).catch(() => undefined);
  return res?.ok ? ((await res.json()) as ConsoleSnapshot) : undefined;
}
