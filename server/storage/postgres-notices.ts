/**
 * Change notices between instances through PostgreSQL `LISTEN/NOTIFY`: each instance's access
 * cache drops a connection another instance changed. The listener has a connection of its own;
 * while it is down notices may be missed, so the listener is told (not live) until LISTEN works again.
 * A path that goes silent (a partition: no FIN, no RST) raises no error of its own, so the listening
 * connection also answers a heartbeat query; one unanswered for two heartbeats takes it down.
 */
import net from 'node:net';
import { Client, type Pool } from 'pg';
import { type ConnectionId, connectionKey } from '../../src/common/connection-id';
import type { ChangeNotices } from './ports';

const CHANNEL = 'broker_tokens';

/** The listening session's name in pg_stat_activity. */
export const LISTENER_NAME = 'broker change notices';

export interface NoticeOptions {
  /** How often the listening connection is asked for an answer: a silent one is found within 3 × this. */
  heartbeatMs: number;
}

/** A silent listening connection is found within 6 s. */
export const DEFAULT_NOTICE_OPTIONS: NoticeOptions = { heartbeatMs: 2000 };

export class PostgresNotices implements ChangeNotices {
  /** Ends the current listening connection (and starts the next, unless closed). */
  private drop?: () => void;
  private closed = false;

  constructor(
    private readonly pool: Pool,
    private readonly databaseUrl: string,
    private readonly options: NoticeOptions = DEFAULT_NOTICE_OPTIONS,
  ) {}

  async announce(c: ConnectionId): Promise<void> {
    await this.pool.query('SELECT pg_notify($1, $2)', [CHANNEL, connectionKey(c)]);
  }

  listen(onChange: (connectionKey: string) => void, onLive: (live: boolean) => void): void {
    onLive(false);
    const listen = async () => {
      if (this.closed) return;
      // Our own socket, closed at once when the connection is dropped: a goodbye cannot cross a silent path.
      const socket = new net.Socket();
      const client = new Client({
        connectionString: this.databaseUrl,
        application_name: LISTENER_NAME,
        connectionTimeoutMillis: 5000,
        // LISTEN and each heartbeat: unanswered for two heartbeats, the connection is taken as lost.
        query_timeout: 2 * this.options.heartbeatMs,
        // The kernel's own probes on an idle path; the heartbeat is what finds a silent one within seconds.
        keepAlive: true,
        stream: () => socket,
      });
      let heartbeat: NodeJS.Timeout | undefined;
      const drop = () => {
        clearTimeout(heartbeat);
        socket.destroy();
        if (this.drop !== drop) return;
        this.drop = undefined;
        onLive(false);
        setTimeout(() => void listen(), 1000).unref();
      };
      this.drop = drop;
      client.on('notification', (message) => message.payload && onChange(message.payload));
      client.on('error', drop);
      client.on('end', drop);
      try {
        await client.connect();
        await client.query(`LISTEN ${CHANNEL}`);
        if (this.drop !== drop) return;
        // One heartbeat at a time, the next a heartbeat after the last answer.
        const beat = () => {
          heartbeat = setTimeout(() => void client.query('SELECT 1').then(beat, drop), this.options.heartbeatMs).unref();
        };
        beat();
        onLive(true);
      } catch {
        drop();
      }
    };
    void listen();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.drop?.();
  }
}
