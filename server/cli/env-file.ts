/**
 * A .env file edited in place: its lines, comments and order kept, a variable's value replaced
 * where it stands, new ones appended. Only `NAME=value` lines are variables (as node --env-file
 * reads them, without quotes or `export`).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const VARIABLE = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/;

export class EnvFile {
  private constructor(private readonly lines: string[]) {}

  static read(file: string): EnvFile {
    return new EnvFile(existsSync(file) ? readFileSync(file, 'utf8').replace(/\n$/, '').split('\n') : []);
  }

  get(name: string): string | undefined {
    for (const line of this.lines) {
      const match = VARIABLE.exec(line);
      if (match?.[1] === name) return match[2].trim();
    }
    return undefined;
  }

  set(name: string, value: string): void {
    const at = this.lines.findIndex((line) => VARIABLE.exec(line)?.[1] === name);
    if (at >= 0) this.lines[at] = `${name}=${value}`;
    else this.lines.push(`${name}=${value}`);
  }

  /** Private to the user: it holds the client secret and the sealing key. */
  write(file: string): void {
    writeFileSync(file, `${this.lines.join('\n')}\n`, { mode: 0o600 });
  }
}
