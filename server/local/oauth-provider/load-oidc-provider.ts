/** oidc-provider, imported with its one start-up warning about the Node.js version left out. */
import type OidcProvider from 'oidc-provider';

const UNSUPPORTED_RUNTIME = 'oidc-provider WARNING: Unsupported runtime. Use Node.js v22.x LTS, or a later LTS release.';
// eslint-disable-next-line no-control-regex
const ANSI_COLOUR = /\x1b\[[\d;]*m/g;

export async function loadOidcProvider(): Promise<typeof OidcProvider> {
  const warn = console.warn;
  // The dev provider works on Node 20 (the suites run on it), so this import-time warning is noise; any other warning is printed.
  const filtered = (...args: unknown[]) => {
    if (args.length === 1 && typeof args[0] === 'string' && args[0].replace(ANSI_COLOUR, '') === UNSUPPORTED_RUNTIME) return;
    warn.apply(console, args);
  };
  console.warn = filtered;
  try {
    return (await import('oidc-provider')).default;
  } finally {
    if (console.warn === filtered) console.warn = warn;
  }
}
