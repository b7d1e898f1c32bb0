/**
 * The backend's refresh history as the console shows it: the backend's own log lines (refresh,
 * exchange, connection lost, disconnect), tapped from its logger, kept per connection (the last
 * 20). Log lines carry no tokens, so neither does this.
 */
import { Writable } from 'node:stream';

export interface HistoryEntry {
  time: number;
  event: string;
  outcome: string;
  latencyMs?: number;
}

const EVENTS = new Set(['refresh', 'exchange', 'connection lost', 'disconnect']);
const KEEP = 20;

export class RefreshHistory {
  private readonly byConnection = new Map<string, HistoryEntry[]>();

  /** A stream for the backend's logger (pino writes one JSON line per write). */
  readonly tap = new Writable({
    write: (chunk: Buffer, _encoding, done) => {
      for (const line of chunk.toString().split('\n').filter(Boolean)) this.record(line);
      done();
    },
  });

  private record(line: string): void {
    let entry: { msg?: string; connection?: string; outcome?: string; latencyMs?: number; time?: number };
    try {
      entry = JSON.parse(line);
    } catch {
      return;
    }
    if (!entry.msg || !EVENTS.has(entry.msg) || !entry.connection) return;
    const list = this.byConnection.get(entry.connection) ?? [];
    list.unshift({ time: Math.floor((entry.time ?? Date.now()) / 1000), event: entry.msg, outcome: entry.outcome ?? '', latencyMs: entry.latencyMs });
    this.byConnection.set(entry.connection, list.slice(0, KEEP));
  }

  of(connectionKey: string): HistoryEntry[] {
    return this.byConnection.get(connectionKey) ?? [];
  }
}
