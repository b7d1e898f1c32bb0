/**
 * The dev provider API's notes: a few lines of text per subject, kept in the provider's SQLite
 * database beside its grants, so they survive a restart as the grants do.
 */
import type Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';

export interface Note {
  id: string;
  text: string;
  /** Unix seconds. */
  created: number;
}

export class NoteStore {
  constructor(private readonly db: Database.Database) {
    // `seq` orders the notes: several made in the same second still list newest first.
    db.exec(`CREATE TABLE IF NOT EXISTS dev_api_notes (
      seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, sub TEXT NOT NULL,
      text TEXT NOT NULL, created INTEGER NOT NULL)`);
  }

  list(sub: string): Note[] {
    return this.db.prepare('SELECT id, text, created FROM dev_api_notes WHERE sub = ? ORDER BY seq DESC').all(sub) as Note[];
  }

  add(sub: string, text: string): Note {
    const note = { id: `note_${randomBytes(8).toString('hex')}`, text, created: Math.floor(Date.now() / 1000) };
    this.db.prepare('INSERT INTO dev_api_notes (id, sub, text, created) VALUES (?, ?, ?, ?)').run(note.id, sub, note.text, note.created);
    return note;
  }

  /** Every note goes (a test's reset). */
  clear(): void {
    this.db.exec('DELETE FROM dev_api_notes');
  }

  /** False when the subject has no such note (another subject's included). */
  remove(sub: string, id: string): boolean {
    return this.db.prepare('DELETE FROM dev_api_notes WHERE sub = ? AND id = ?').run(sub, id).changes === 1;
  }
}
