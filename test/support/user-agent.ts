/**
 * A minimal headless user agent for the dev provider: follows redirects with a cookie jar,
 * fills in the login and consent forms, and stops at the client's redirect URI.
 */
import { DEV_PASSWORD } from '../../server/local/oauth-provider/users';

export interface AuthorizeAs {
  user?: string;
  password?: string;
  decision?: 'allow' | 'deny';
}

export async function authorizeInProvider(authorizeUrl: URL | string, redirectUri: string, as: AuthorizeAs = {}): Promise<URL> {
  const jar = new Map<string, string>();
  const send = async (url: string, init: RequestInit = {}) => {
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(url, { ...init, redirect: 'manual', headers: { ...(init.headers as object), cookie } });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair.indexOf('=');
      jar.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    return res;
  };
  let url = String(authorizeUrl);
  for (let step = 0; step < 20; step++) {
    if (url.startsWith(redirectUri)) return new URL(url);
    const res = await send(url);
    if (res.status >= 300 && res.status < 400) {
      url = new URL(res.headers.get('location')!, url).toString();
      continue;
    }
    const html = await res.text();
    const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
    if (res.status !== 200 || !action) throw new Error(`unexpected page at ${url} (${res.status}): ${html.slice(0, 300)}`);
    const fields: Record<string, string> = action.endsWith('/login')
      ? { login: as.user ?? 'alice', password: as.password ?? DEV_PASSWORD }
      : { decision: as.decision ?? 'allow' };
    const posted = await send(new URL(action, url).toString(), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
    if (posted.status < 300 || posted.status >= 400) throw new Error(`form ${action} answered ${posted.status}: ${(await posted.text()).slice(0, 300)}`);
    url = new URL(posted.headers.get('location')!, url).toString();
  }
  throw new Error('too many redirects');
}
