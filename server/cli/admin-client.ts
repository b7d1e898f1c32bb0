/** The admin API from the command line: one request, its JSON, or one line saying what went wrong. */

export class CliError extends Error {}

/** The admin API refused a request: its status and code, for a command to say it in the operator's words. */
export class AdminRefusal extends CliError {
  constructor(readonly status: number, readonly code: string | undefined, message: string) {
    super(`the backend answered ${status}${code ? ` ${code}` : ''}: ${message}`);
  }
}

export interface AdminTarget {
  url: string;
  token: string;
}

export async function admin<T>(target: AdminTarget, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  let response: Response;
  try {
    response = await fetch(new URL(path, target.url), {
      method,
      headers: { authorization: `Bearer ${target.token}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      redirect: 'error',
      // A reseal page takes a while (it is paced); nothing else should.
      signal: AbortSignal.timeout(120_000),
    });
  } catch {
    throw new CliError(`no backend answers at ${target.url} (is it running? --url sets where)`);
  }
  const text = await response.text();
  let answer: { error?: { code?: string; message?: string } } & Record<string, unknown>;
  try {
    answer = JSON.parse(text);
  } catch {
    throw new CliError(`${target.url} answered ${response.status} without JSON: is it the broker backend?`);
  }
  if (response.status === 401) throw new CliError(`the backend refused the admin token (401): ADMIN_TOKEN must be the backend's`);
  if (response.status === 404 && answer.error?.message?.startsWith('No route')) throw new CliError('the backend has no admin API: set ADMIN_TOKEN where it runs');
  if (!response.ok) throw new AdminRefusal(response.status, answer.error?.code, answer.error?.message ?? 'failed');
  return answer as T;
}
