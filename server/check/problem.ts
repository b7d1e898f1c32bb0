/** What `npm run check` finds: a problem in one file, with what to do about it. */
export interface Problem {
  /** The file (or files) the problem is in, e.g. `stripe-app.json` or `.env`. */
  where: string;
  problem: string;
  fix: string;
}

/** The app folder a check reads, and the manifest it checks (one file, or the local one merged over it). */
export interface CheckTarget {
  root: string;
  /** Names the manifest in problem lines: `stripe-app.json` or `stripe-app.json + stripe-app.local.json`. */
  manifestName: string;
  manifest: Manifest;
  /** Whether this is the local manifest (`--local`): loopback URLs are expected there. */
  local: boolean;
}

export interface Manifest {
  id?: unknown;
  icon?: unknown;
  permissions?: Array<{ permission: string; purpose?: string }>;
  ui_extension?: { views?: Array<{ viewport: string; component: string }>; content_security_policy?: { 'connect-src'?: string[] | null; [key: string]: unknown } };
  post_install_action?: { type?: string } | null;
  constants?: Record<string, unknown>;
  [key: string]: unknown;
}
