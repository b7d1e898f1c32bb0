/**
 * What the backend's log says about each connection, as the console shows it: refresh, exchange,
 * API-key, connection-lost and disconnect lines (the history; a line that repeats the one before counts
 * up instead of adding a row) and proxied calls, the last 20 of each per connection, tapped from
 * the backend's logger. Log lines carry no tokens, so neither does this.
 */
import { Writable } from 'node:stream';
import type { HistoryRow, ProxiedCall } from './api';

const HISTORY = new Set(['refresh', 'exchange', 'api key saved', 'connection lost', 'disconnect']);
const KEEP = 20;

interface Line {
  msg?: string;
  connection?: string;
  outcome?: string;
  latencyMs?: number;
  time?: number;
  method?: string;
  path?: string;
}

export class BackendLog {
  private readonly history = new Map<string, HistoryRow[]>();
  private readonly proxied = new Map<string, ProxiedCall[]>();

  /** `changed` hears of each line that means the connection's tokens changed (a refresh that worked). */
  constructor(private readonly changed: (connectionKey: string) => void) {}

  /** A stream for the backend's logger (pino writes one JSON line per write). */
  readonly tap = new Writable({
    write: (chunk: Buffer, _encoding, done) => {
      for (const line of chunk.toString().split('\n').filter(Boolean)) this.record(line);
      done();
    },
  });

  private record(text: string): void {
    let line: Line;
    try {
      line = JSON.parse(text);
    } catch {
      return;
    }
    const key = line.connection;
    if (!line.msg || !key) return;
    const time = Math.floor((line.time ?? Date.now()) / 1000);
    if (line.msg === 'proxy') {
      const call = { time, method: line.method ?? '', path: line.path ?? '', outcome: line.outcome ?? '', latencyMs: line.latencyMs ?? 0 };
      this.proxied.set(key, [call, ...(this.proxied.get(key) ?? [])].slice(0, KEEP));
      return;
    }
    if (!HISTORY.has(line.msg)) return;
    const rows = this.history.get(key) ?? [];
    const [last] = rows;
    if (last && last.event === line.msg && last.outcome === (line.outcome ?? '') && line.outcome !== 'refreshed') {
      rows[0] = { ...last, time, latencyMs: line.latencyMs, count: last.count + 1 };
    } else {
      rows.unshift({ time, event: line.msg, outcome: line.outcome ?? '', latencyMs: line.latencyMs, count: 1 });
    }
    this.history.set(key, rows.slice(0, KEEP));
    if (line.msg === 'refresh' && line.outcome === 'refreshed') this.changed(key);
  }

  historyOf(connectionKey: string): HistoryRow[] {
    return this.history.get(connectionKey) ?? [];
  }

  proxiedOf(connectionKey: string): ProxiedCall[] {
    return this.proxied.get(connectionKey) ?? [];
  }
}
