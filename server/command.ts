/** Shared bits of the stand-alone commands: `--flag value` arguments and a clean SIGTERM stop. */
import { ConfigError } from './config';

export function parseArgs(argv: string[], known: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i].replace(/^--/, '');
    if (!argv[i].startsWith('--') || !known.includes(flag) || argv[i + 1] === undefined) {
      throw new Error(`usage: [--${known.join(' VALUE] [--')} VALUE] (got '${argv[i]}')`);
    }
    (out[flag] ??= []).push(argv[++i]);
  }
  return out;
}

export function parsePort(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid port: ${value}`);
  return port;
}

/** A start-up failure: one line, or a count and one indented line per configuration problem. */
function describeFailure(err: Error): string {
  const problems = err instanceof ConfigError ? err.problems : [];
  if (problems.length < 2) return err.message;
  return [`${problems.length} configuration problems:`, ...problems.map((problem) => `  ${problem}`)].join('\n');
}

/** Runs `main`, reporting a start-up failure (see describeFailure); `stop` runs once on SIGTERM/SIGINT. */
export function runCommand(main: () => Promise<() => Promise<void>>): void {
  main().then(
    (stop) => {
      let stopping = false;
      const onSignal = () => {
        if (stopping) return;
        stopping = true;
        stop().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
    },
    (err: Error) => {
      console.error(`error: ${describeFailure(err)}`);
      process.exit(1);
    },
  );
}
