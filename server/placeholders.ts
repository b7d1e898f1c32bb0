/**
 * Values copied from .env.example and never filled in stop start-up, a line each naming the
 * variable (never the value): `replace-with-…`, a value ending in `...`, and an example host
 * (example.com, .net, .org: RFC 2606) as a provider URL. Checked before anything else, since a
 * placeholder secret would otherwise be reported as merely weak.
 */
import { ConfigError } from './config';

type Env = Record<string, string | undefined>;

/** The variables a placeholder can be left in: the Stripe, provider, sealing, admin and events settings. */
const CHECKED = /^(STRIPE_|OAUTH_|EVENTS_|TOKEN_SEALING_KEYS$|ADMIN_TOKEN$|METRICS_TOKEN$|DATABASE_URL$)/;
/** Provider URLs, per service too (`OAUTH_<NAME>_ISSUER`). */
const PROVIDER_URL = /^OAUTH_(?:.+_)?(ISSUER|TOKEN_ENDPOINT|REVOCATION_ENDPOINT|API_BASE_URL)$/;
const EXAMPLE_HOST = /(^|\.)example\.(com|net|org)$/i;

const isExampleUrl = (part: string) => URL.canParse(part.trim()) && EXAMPLE_HOST.test(new URL(part.trim()).hostname);

/** Throws one ConfigError listing every placeholder in `env`. */
export function refusePlaceholders(env: Env): void {
  const problems: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!CHECKED.test(name) || !value?.trim()) continue;
    if (/replace-with-/.test(value) || /(\.\.\.|…)$/.test(value.trim())) {
      problems.push(`${name} is still the placeholder of .env.example: put in your own value`);
    } else if (PROVIDER_URL.test(name) && value.split(',').some(isExampleUrl)) {
      problems.push(`${name} names an example host (example.com): put in your provider's URL, or leave it to OAUTH_PRESET`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
}
