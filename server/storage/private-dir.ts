/**
 * DATA_DIR holds the broker's database (and, under `npm start`, the local signing secret and
 * sealing key): only this user may read it. The folder is made 0700 and every file in it 0600 on
 * each start, whatever an earlier version or a copy left; what had to be tightened is returned,
 * for a warning. Files made later (SQLite's -wal and -shm) follow the process's umask, which the
 * entry points set to 077.
 */
import { chmodSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

export function keepPrivate(dir: string): string[] {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tightened: string[] = [];
  const tighten = (target: string, mode: number) => {
    if ((statSync(target).mode & 0o777 & ~mode) === 0) return;
    chmodSync(target, mode);
    tightened.push(target);
  };
  tighten(dir, 0o700);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isFile()) tighten(path.join(dir, entry.name), 0o600);
  }
  return tightened;
}
