/**
 * The dev provider's login and consent pages: plain HTML forms a person can use in a browser
 * and a test can drive with fetch. Login checks a test user's password (or is cancelled);
 * consent grants every scope the client asked for, or refuses (a cancel or a refusal gives the
 * client `error=access_denied`).
 */
import express, { Request, Response, Router } from 'express';
import type Provider from 'oidc-provider';
import { DEV_PASSWORD, DEV_USERS } from './users';

const escape = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/**
 * The provider's own small stylesheet: a centred card, system fonts, nothing from the network
 * (the check mark and the error icon are inline SVG data URIs). No CSP is set on these pages,
 * so the inline <style> needs no nonce.
 */
const STYLE = `:root{color-scheme:light;--text:#1a1f36;--muted:#596171;--subtle:#687385;--border:#e3e8ee;--field:#c0c8d2;--accent:#635bff;--accent-hover:#5851ea;--accent-active:#4b44d6;--focus:0 0 0 1px #fff,0 0 0 3px rgba(99,91,255,.55)}
*,*::before,*::after{box-sizing:border-box}
body{margin:0;min-height:100vh;display:flex;flex-direction:column;align-items:center;justify-content:center;gap:20px;padding:32px 16px;background:#f6f8fa;color:var(--text);
font:14px/1.5 -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,"Helvetica Neue",Ubuntu,"Liberation Sans",Arial,sans-serif;-webkit-font-smoothing:antialiased}
.brand{display:flex;align-items:center;gap:10px;font-size:15px;font-weight:600;color:var(--text)}
.brand::before{content:"";width:24px;height:24px;border-radius:6px;background:linear-gradient(135deg,#8d86ff,#635bff 50%,#4b44d6);box-shadow:inset 0 0 0 1px rgba(0,0,0,.06)}
.brand span{padding:1px 6px;border-radius:4px;background:#ebeef1;color:var(--muted);font-size:11px;font-weight:600;letter-spacing:.04em;text-transform:uppercase}
main{width:100%;max-width:360px;padding:28px;background:#fff;border:1px solid var(--border);border-radius:12px;box-shadow:0 1px 2px rgba(60,66,87,.06),0 8px 24px rgba(60,66,87,.08)}
h1{margin:0 0 6px;font-size:20px;line-height:1.3;font-weight:600;letter-spacing:-.01em}
p{margin:0 0 16px;color:var(--muted)}p strong{color:var(--text);font-weight:600}
code{font:12px/1.4 ui-monospace,SFMono-Regular,"SF Mono",Menlo,Consolas,"Liberation Mono",monospace;padding:1px 5px;border-radius:4px;background:#fff;border:1px solid #d5dbe1;color:var(--text)}
.hint{margin:0 0 4px;padding:8px 12px;border-radius:8px;background:#f6f8fa;border:1px solid var(--border);font-size:13px;color:var(--muted)}.hint span{white-space:nowrap}
label{display:block;margin:16px 0 6px;font-size:13px;font-weight:600}
input{display:block;width:100%;height:36px;padding:0 10px;border:1px solid var(--field);border-radius:6px;font:inherit;color:inherit;background:#fff;box-shadow:0 1px 1px rgba(0,0,0,.03);transition:border-color .1s,box-shadow .1s}
input:hover{border-color:#8792a2}input:focus{outline:none;border-color:var(--accent);box-shadow:var(--focus)}
.actions{display:flex;flex-direction:column;gap:8px;margin-top:24px}.actions.row{flex-direction:row}.actions.row button{flex:1}
button{height:36px;padding:0 16px;border:1px solid var(--field);border-radius:6px;background:#fff;color:var(--text);font:inherit;font-weight:600;cursor:pointer;box-shadow:0 1px 1px rgba(0,0,0,.04);transition:background-color .1s,border-color .1s}
button:hover{background:#f6f8fa;border-color:#a3acb9}button:active{background:#ebeef1}button:focus-visible{outline:none;box-shadow:var(--focus)}
button.primary{background:var(--accent);border-color:var(--accent);color:#fff;box-shadow:0 1px 1px rgba(0,0,0,.08)}button.primary:hover{background:var(--accent-hover);border-color:var(--accent-hover)}button.primary:active{background:var(--accent-active);border-color:var(--accent-active)}
button.quiet{border-color:transparent;background:none;box-shadow:none;color:var(--muted);font-weight:500}button.quiet:hover{background:#f6f8fa;color:var(--text)}
.account{display:flex;align-items:center;gap:10px;margin:12px 0 16px;padding:10px 12px;border:1px solid var(--border);border-radius:8px}
.avatar{display:grid;place-items:center;flex:none;width:32px;height:32px;border-radius:50%;background:#e2e0ff;color:#3f32c9;font-weight:600;text-transform:uppercase}
.account div{min-width:0;line-height:1.35}.account strong{display:block;font-weight:600}.account small{display:block;color:var(--subtle);font-size:12px;overflow:hidden;text-overflow:ellipsis}
ul.scopes{list-style:none;margin:0;padding:0;border:1px solid var(--border);border-radius:8px}
ul.scopes li{display:flex;align-items:center;gap:10px;padding:9px 12px;font:13px/1.4 ui-monospace,SFMono-Regular,"SF Mono",Menlo,Consolas,"Liberation Mono",monospace}ul.scopes li+li{border-top:1px solid var(--border)}
ul.scopes li::before{content:"";flex:none;width:16px;height:16px;border-radius:50%;background:#d7f7c2 url("data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Cpath d='M4.5 8.2l2.3 2.3 4.7-4.9' fill='none' stroke='%2305690d' stroke-width='1.8' stroke-linecap='round' stroke-linejoin='round'/%3E%3C/svg%3E") center/16px no-repeat}
.error{display:flex;gap:8px;align-items:flex-start;margin:12px 0 0;padding:8px 12px;border-radius:8px;background:#fff5f7;border:1px solid #ffcfd8;color:#a4112f;font-size:13px;font-weight:500}
.error::before{content:"";flex:none;width:16px;height:16px;margin-top:1px;background:url("data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Ccircle cx='8' cy='8' r='7' fill='%23df1b41'/%3E%3Cpath d='M8 4.5v4.2' stroke='%23fff' stroke-width='1.6' stroke-linecap='round'/%3E%3Ccircle cx='8' cy='11.2' r='.95' fill='%23fff'/%3E%3C/svg%3E") center/16px no-repeat}
input[aria-invalid=true]{border-color:#df1b41}input[aria-invalid=true]:focus{box-shadow:0 0 0 1px #fff,0 0 0 3px rgba(223,27,65,.4)}
footer{font-size:12px;color:var(--subtle)}`;

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)} · Dev OAuth provider</title><style>${STYLE}</style></head>
<body><div class="brand">Dev OAuth provider <span>Local</span></div><main><h1>${escape(title)}</h1>${body}</main>
<footer>A local test provider for the offline stack — not a real account</footer></body></html>`;
}

/** The login form; after a failed attempt it keeps the user name and moves the focus to the password. */
function loginPage(uid: string, clientId: string, error?: string, login = ''): string {
  const users = Object.keys(DEV_USERS).map((u) => `<code>${escape(u)}</code>`).join(', ');
  const invalid = error ? ' aria-invalid="true" aria-describedby="login-error"' : '';
  return page(
    'Sign in to the dev provider',
    `<p>to continue to <strong>${escape(clientId)}</strong></p>
<p class="hint">Test users ${users}; <span>password <code>${escape(DEV_PASSWORD)}</code></span></p>
${error ? `<p class="error" id="login-error" role="alert">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login">
<label for="login">User</label><input id="login" name="login" value="${escape(login)}" autocomplete="username" autocapitalize="none" spellcheck="false"${error ? '' : ' autofocus'}>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password"${invalid}${error ? ' autofocus' : ''}>
<div class="actions"><button type="submit" class="primary">Sign in</button>
<button type="submit" name="decision" value="cancel" class="quiet" formnovalidate>Cancel</button></div></form>`,
  );
}

function consentPage(uid: string, clientId: string, scopes: string[], accountId?: string): string {
  const list = scopes.map((s) => `<li>${escape(s)}</li>`).join('');
  const user = accountId && Object.hasOwn(DEV_USERS, accountId) ? DEV_USERS[accountId] : undefined;
  const account = accountId
    ? `<div class="account"><span class="avatar" aria-hidden="true">${escape(accountId.slice(0, 1))}</span><div><strong>${escape(user?.name ?? accountId)}</strong>`
      + `<small>${escape(user?.email ?? accountId)}</small></div></div>`
    : '';
  return page(
    'Allow access?',
    `${account}<p><strong>${escape(clientId)}</strong> asks for access to:</p><ul class="scopes">${list}</ul>
<form method="post" action="/interaction/${escape(uid)}/confirm"><div class="actions row"><button type="submit" name="decision" value="deny">Deny</button>
<button type="submit" name="decision" value="allow" class="primary">Allow</button></div>
<div class="actions"><button type="submit" name="decision" value="switch" class="quiet">Use another account</button></div></form>`,
  );
}

/** What the client gets back when the person cancels the login or denies consent. */
const DENIED = { error: 'access_denied', error_description: 'The user denied access.' };

export function interactionRoutes(provider: Provider): Router {
  const router = Router();
  const form = express.urlencoded({ extended: false, limit: '10kb' });

  const handle = (fn: (req: Request, res: Response) => Promise<void>) => (req: Request, res: Response) =>
    fn(req, res).catch((err: Error & { statusCode?: number }) => {
      res.status(err.statusCode && err.statusCode < 500 ? err.statusCode : 400).type('html').send(page('Sign-in failed', `<p class="error">${escape(err.message)}</p>`));
    });

  router.get('/interaction/:uid', handle(async (req, res) => {
    const details = await provider.interactionDetails(req, res);
    const clientId = String(details.params.client_id);
    if (details.prompt.name === 'login') {
      res.type('html').send(loginPage(details.uid, clientId));
      return;
    }
    const missing = (details.prompt.details.missingOIDCScope as string[] | undefined) ?? [];
    const scopes = missing.length ? missing : String(details.params.scope).split(' ');
    res.type('html').send(consentPage(details.uid, clientId, scopes, details.session?.accountId));
  }));

  router.post('/interaction/:uid/login', form, handle(async (req, res) => {
    const details = await provider.interactionDetails(req, res);
    if (req.body?.decision === 'cancel') {
      await provider.interactionFinished(req, res, DENIED, { mergeWithLastSubmission: false });
      return;
    }
    const login = String(req.body?.login ?? '');
    if (!Object.hasOwn(DEV_USERS, login) || req.body?.password !== DEV_PASSWORD) {
      res.status(401).type('html').send(loginPage(details.uid, String(details.params.client_id), 'Unknown user or wrong password.', login));
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: login } }, { mergeWithLastSubmission: false });
  }));

  router.post('/interaction/:uid/confirm', form, handle(async (req, res) => {
    const details = await provider.interactionDetails(req, res);
    if (req.body?.decision === 'switch') {
      // The same authorization request again, with the login asked for even though this browser has a session.
      const again = new URL('/auth', provider.issuer);
      for (const [name, value] of Object.entries(details.params)) if (typeof value === 'string') again.searchParams.set(name, value);
      again.searchParams.set('prompt', 'login consent');
      res.redirect(303, again.pathname + again.search);
      return;
    }
    if (req.body?.decision !== 'allow') {
      await provider.interactionFinished(req, res, DENIED, { mergeWithLastSubmission: false });
      return;
    }
    const accountId = details.session?.accountId;
    const clientId = String(details.params.client_id);
    const grant = details.grantId ? await provider.Grant.find(details.grantId) : new provider.Grant({ accountId, clientId });
    if (!grant) throw new Error('The grant of this interaction is gone; start again.');
    const promptDetails = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[] };
    if (promptDetails.missingOIDCScope) grant.addOIDCScope(promptDetails.missingOIDCScope.join(' '));
    if (promptDetails.missingOIDCClaims) grant.addOIDCClaims(promptDetails.missingOIDCClaims);
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }));

  return router;
}
