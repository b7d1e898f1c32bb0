/**
 * The dev provider's login and consent pages: plain HTML forms a person can use in a browser
 * and a test can drive with fetch. Login checks a test user's password; consent grants every
 * scope the client asked for, or refuses (the client then gets `error=access_denied`).
 */
import express, { Request, Response, Router } from 'express';
import type Provider from 'oidc-provider';
import { DEV_PASSWORD, DEV_USERS } from './users';

const escape = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** The provider's own small stylesheet: a centered card, system fonts, nothing from the network. */
const STYLE = `:root{color-scheme:light;--text:#1a1f36;--muted:#545969;--border:#e3e8ee;--accent:#635bff;--accent-hover:#5146e0;--focus:0 0 0 2px #fff,0 0 0 4px #635bff}
*,*::before,*::after{box-sizing:border-box}
body{margin:0;min-height:100vh;display:flex;flex-direction:column;align-items:center;justify-content:center;gap:16px;padding:32px 16px;background:#f6f8fa;color:var(--text);
font:14px/1.5 -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,"Helvetica Neue",Ubuntu,"Liberation Sans",Arial,sans-serif;-webkit-font-smoothing:antialiased}
.brand{display:flex;align-items:center;gap:10px;font-weight:600;color:var(--muted)}
.brand::before{content:"";width:22px;height:22px;border-radius:6px;background:linear-gradient(135deg,#7a73ff,#635bff 55%,#4b44d6)}
main{width:100%;max-width:400px;padding:32px;background:#fff;border:1px solid var(--border);border-radius:8px;box-shadow:0 1px 1px rgba(0,0,0,.03),0 8px 24px rgba(60,66,87,.1)}
h1{margin:0 0 8px;font-size:20px;line-height:1.3;font-weight:600}
p{margin:0 0 16px;color:var(--muted)}p strong{color:var(--text)}
code{font:12px ui-monospace,SFMono-Regular,"SF Mono",Menlo,Consolas,"Liberation Mono",monospace;padding:1px 5px;border-radius:4px;background:#f6f8fa;border:1px solid var(--border);color:var(--text)}
.hint{padding:10px 12px;border-radius:8px;background:#f5f8ff;border:1px solid #d6e0ff;font-size:13px}.hint code{white-space:nowrap}
label{display:block;margin:16px 0 6px;font-size:13px;font-weight:600}
input{display:block;width:100%;min-height:36px;padding:6px 10px;border:1px solid #8792a2;border-radius:6px;font:inherit;color:inherit;background:#fff;box-shadow:0 1px 1px rgba(0,0,0,.04)}
input:hover{border-color:#545969}input:focus-visible{outline:2px solid transparent;border-color:var(--accent);box-shadow:var(--focus)}
.buttons{display:flex;gap:8px;margin-top:24px}.buttons button{flex:1}
button{min-height:36px;padding:6px 16px;border:1px solid #c0c8d2;border-radius:6px;background:#fff;color:var(--text);font:inherit;font-weight:500;cursor:pointer;box-shadow:0 1px 1px rgba(0,0,0,.05)}
button:hover{background:#f6f8fa;border-color:#a3acb9}button:active{background:#ebeef1}button:focus-visible{outline:2px solid transparent;box-shadow:var(--focus)}
button.primary{background:var(--accent);border-color:var(--accent);color:#fff}button.primary:hover{background:var(--accent-hover);border-color:var(--accent-hover)}button.primary:active{background:#4338c9}
ul.scopes{list-style:none;margin:0 0 8px;padding:0;border:1px solid var(--border);border-radius:8px}
ul.scopes li{display:flex;align-items:center;gap:10px;padding:10px 12px}ul.scopes li+li{border-top:1px solid var(--border)}
ul.scopes li::before{content:"";flex:none;width:16px;height:16px;border-radius:50%;background:#d7f7c2 url("data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Cpath d='M4.5 8.2l2.3 2.3 4.7-4.9' fill='none' stroke='%2305690d' stroke-width='1.8' stroke-linecap='round' stroke-linejoin='round'/%3E%3C/svg%3E") center/16px no-repeat}
ul.scopes code{padding:0;border:0;background:none;font-size:13px}
.error{padding:10px 12px;border-radius:8px;background:#fff5f7;border:1px solid #ffcfd8;border-left:4px solid #df1b41;color:#a4112f;font-weight:500}
footer{font-size:12px;color:#687385}`;

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)}</title><style>${STYLE}</style></head>
<body><div class="brand">Dev OAuth provider</div><main><h1>${escape(title)}</h1>${body}</main><footer>A local test provider for the offline stack</footer></body></html>`;
}

function loginPage(uid: string, clientId: string, error?: string): string {
  const users = Object.keys(DEV_USERS).map((u) => `<code>${u}</code>`).join(', ');
  return page(
    'Sign in to the dev provider',
    `<p><strong>${escape(clientId)}</strong> asks you to sign in.</p>
<p class="hint">Test users: ${users}; password <code>${DEV_PASSWORD}</code>.</p>
${error ? `<p class="error" role="alert">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login">
<label for="login">User</label><input id="login" name="login" autocomplete="username" autofocus>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password">
<div class="buttons"><button type="submit" class="primary">Sign in</button></div></form>`,
  );
}

function consentPage(uid: string, clientId: string, scopes: string[]): string {
  const list = scopes.map((s) => `<li><code>${escape(s)}</code></li>`).join('');
  return page(
    'Allow access?',
    `<p><strong>${escape(clientId)}</strong> asks for:</p><ul class="scopes">${list}</ul>
<form method="post" action="/interaction/${escape(uid)}/confirm"><div class="buttons"><button type="submit" name="decision" value="deny">Deny</button>
<button type="submit" name="decision" value="allow" class="primary">Allow</button></div></form>`,
  );
}

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
    res.type('html').send(consentPage(details.uid, clientId, missing.length ? missing : String(details.params.scope).split(' ')));
  }));

  router.post('/interaction/:uid/login', form, handle(async (req, res) => {
    const details = await provider.interactionDetails(req, res);
    const login = String(req.body?.login ?? '');
    if (!Object.hasOwn(DEV_USERS, login) || req.body?.password !== DEV_PASSWORD) {
      res.status(401).type('html').send(loginPage(details.uid, String(details.params.client_id), 'Unknown user or wrong password.'));
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: login } }, { mergeWithLastSubmission: false });
  }));

  router.post('/interaction/:uid/confirm', form, handle(async (req, res) => {
    const details = await provider.interactionDetails(req, res);
    if (req.body?.decision !== 'allow') {
      const result = { error: 'access_denied', error_description: 'The user denied access.' };
      await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
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
