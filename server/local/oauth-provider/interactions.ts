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

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:26rem;margin:4rem auto;padding:0 1rem}
label{display:block;margin:.75rem 0 .25rem}input{width:100%;padding:.4rem}button{margin:1rem .5rem 0 0;padding:.5rem 1rem}
.error{color:#b00}</style></head><body><h1>${escape(title)}</h1>${body}</body></html>`;
}

function loginPage(uid: string, clientId: string, error?: string): string {
  const users = Object.keys(DEV_USERS).map((u) => `<code>${u}</code>`).join(', ');
  return page(
    'Sign in to the dev provider',
    `<p>${escape(clientId)} asks you to sign in. Test users: ${users}; password <code>${DEV_PASSWORD}</code>.</p>
${error ? `<p class="error" role="alert">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login">
<label for="login">User</label><input id="login" name="login" autocomplete="username" autofocus>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password">
<button type="submit">Sign in</button></form>`,
  );
}

function consentPage(uid: string, clientId: string, scopes: string[]): string {
  const list = scopes.map((s) => `<li><code>${escape(s)}</code></li>`).join('');
  return page(
    'Allow access?',
    `<p><strong>${escape(clientId)}</strong> asks for:</p><ul>${list}</ul>
<form method="post" action="/interaction/${escape(uid)}/confirm"><button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button></form>`,
  );
}

export function interactionRoutes(provider: Provider): Router {
  const router = Router();
  const form = express.urlencoded({ extended: false, limit: '10kb' });

  const handle = (fn: (req: Request, res: Response) => Promise<void>) => (req: Request, res: Response) =>
    fn(req, res).catch((err: Error & { statusCode?: number }) => {
      res.status(err.statusCode && err.statusCode < 500 ? err.statusCode : 400).type('html').send(page('Sign-in failed', `<p>${escape(err.message)}</p>`));
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
