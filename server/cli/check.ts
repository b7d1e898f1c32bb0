/**
 * `npm run check [-- --local] [-- --env FILE]`: the app checked before `stripe apps upload`
 * (docs/check.md). One line per problem with its fix; exit code 1 when there is any.
 */
import { checkApp, type CheckReport } from '../check/check-app';

const USAGE = `usage: npm run check -- [--local] [--env FILE]

  --local      check stripe-app.local.json merged over stripe-app.json (as npm start and
               stripe apps start --manifest stripe-app.local.json run it)
  --env FILE   the backend's environment file (default: .env when there is one)`;

function parse(argv: string[]): { local: boolean; envFile?: string } | undefined {
  const options: { local: boolean; envFile?: string } = { local: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--local') options.local = true;
    else if (argv[i] === '--env' && argv[i + 1] !== undefined) options.envFile = argv[++i];
    else return undefined;
  }
  return options;
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

function print(report: CheckReport): void {
  for (const { where, problem, fix } of report.problems) console.log(`✗ ${where}: ${problem} → ${fix}`);
  if (report.redirectUris) {
    // Discovery documents do not list a client's redirect URIs: only the provider's console shows them.
    console.log(`• register both redirect URIs at the provider (this check cannot see which it has): ${report.redirectUris.test} (test mode), ${report.redirectUris.live} (live mode)`);
  }
  for (const { component, bytes, gzipped } of report.bundles) console.log(`• view ${component}: ${kb(bytes)} (${kb(gzipped)} gzipped)`);
  const checked = report.checked.join(', ');
  console.log(report.problems.length ? `${report.problems.length} problem(s)${checked ? ` in ${checked}` : ''}` : `OK: ${checked}`);
}

async function main(argv: string[]): Promise<number> {
  const options = parse(argv);
  if (!options) {
    console.error(USAGE);
    return 2;
  }
  const report = await checkApp({ root: process.cwd(), ...options });
  print(report);
  return report.problems.length ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err: Error) => {
    console.error(`error: ${err.message}`);
    process.exitCode = 1;
  },
);
