/** Starts one of the project's stand-alone commands as a child process and waits for its URL line. */
import { type ChildProcess, spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');
/** The line a command prints once it listens: its first loopback URL. */
export const URL_LINE = /((?:https?|postgres):\/\/(?:[^@\s]+@)?127\.0\.0\.1:\d+\S*)/;

export interface RunningCommand {
  url: string;
  pid: number;
  output: () => string;
  /** SIGTERM, then wait; resolves with the exit code. */
  stop: () => Promise<number | null>;
  /** SIGKILL, then wait: a crash, with no chance to clean up. */
  kill: () => Promise<void>;
}

/**
 * Every child a test file started and that has not exited, with the test that started it (none:
 * a hook). test/support/cleanup.ts kills what a test leaves behind, a timed-out one's included.
 */
export const children = new Map<ChildProcess, string | undefined>();

export function startCommand(script: string, args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 20_000): Promise<RunningCommand> {
  // TypeScript through tsx; the production launcher (a .js file) as it runs in production.
  const loader = script.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const child = spawn(process.execPath, [...loader, path.join(ROOT, script), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.set(child, typeof expect === 'undefined' ? undefined : expect.getState().currentTestName);
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  void exited.then(() => {
    children.delete(child);
    // A process the command started may outlive it with the same output (an orphaned esbuild service
    // held a whole run open for minutes): its last lines are still read, but they keep nothing alive.
    for (const stream of [child.stdout, child.stderr]) (stream as Socket).unref();
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    return exited;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`${script} printed no URL within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = URL_LINE.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({
          url: match[1],
          pid: child.pid!,
          output: () => output,
          stop,
          kill: async () => {
            if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
            await exited;
          },
        });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${code} before printing its URL:\n${output}`));
    });
  });
}
