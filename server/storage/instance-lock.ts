/**
 * One backend per DATA_DIR unless coordinated: the SQLite registry and the in-process locks
 * are this process's alone, and a second instance beside it would refresh the same refresh
 * tokens concurrently. The claim is an exclusive SQLite lock on DATA_DIR/instance.lock, which
 * the operating system drops when the process dies (so a crash never leaves a stale claim).
 */
import Database from 'better-sqlite3';
import path from 'node:path';

export function claimDataDir(dataDir: string): { release(): void } {
  const db = new Database(path.join(dataDir, 'instance.lock'), { timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER); DELETE FROM holder');
    db.prepare('INSERT INTO holder (pid) VALUES (?)').run(process.pid);
  } catch {
    db.close();
    throw new Error(
      `DATA_DIR ${dataDir} is in use by another backend; run one instance per DATA_DIR, or several with DATABASE_URL (PostgreSQL)`,
    );
  }
  return { release: () => db.close() };
}
