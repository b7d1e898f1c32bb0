/**
 * The backend's log under `npm start`, as lines a person reads: `12:04:31 info  refresh
 * connection=test/acct_…/usr_… outcome=refreshed latencyMs=41`, warnings and errors coloured
 * on a terminal. `LOG_FORMAT=json` keeps pino's JSON lines (`npm run backend` always writes JSON).
 */
import { Writable } from 'node:stream';

const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
const COLOURS: Record<string, string> = { warn: '\x1b[33m', error: '\x1b[31m', fatal: '\x1b[31m' };

const shown = (value: unknown) => (typeof value === 'string' && !/[\s"=]/.test(value) && value !== '' ? value : JSON.stringify(value));

/** One pino JSON line as text (anything else as it came). */
export function readableLine(json: string, colour = false): string {
  let line: Record<string, unknown>;
  try {
    line = JSON.parse(json);
  } catch {
    return json;
  }
  const { level, time, msg, ...fields } = line;
  const name = LEVELS[level as number] ?? String(level);
  const clock = new Date(typeof time === 'number' ? time : Date.now()).toTimeString().slice(0, 8);
  const rest = Object.entries(fields).map(([key, value]) => `${key}=${shown(value)}`).join(' ');
  const text = `${clock} ${name.padEnd(5)} ${String(msg ?? '')}${rest ? `  ${rest}` : ''}`;
  return colour && COLOURS[name] ? `${COLOURS[name]}${text}\x1b[0m` : text;
}

/** A stream for the logger that writes readable lines to `out`. */
export function readableLines(out: NodeJS.WriteStream = process.stdout): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const json of chunk.toString().split('\n').filter(Boolean)) out.write(`${readableLine(json, out.isTTY)}\n`);
      done();
    },
  });
}
