/**
 * Change notices between instances through PostgreSQL `LISTEN/NOTIFY`: each instance's access
 * cache drops a connection another instance changed. The listener has a connection of its own;
 * while it is down notices may be missed, so the listener is told (not live) until LISTEN works again.
 */
import { Client, type Pool } from 'pg';
import { type ConnectionId, connectionKey } from '../../src/common/connection-id';
import type { ChangeNotices } from './ports';

const CHANNEL = 'broker_tokens';

export class PostgresNotices implements ChangeNotices {
  private listener?: Client;
  private closed = false;

  constructor(
    private readonly pool: Pool,
    private readonly databaseUrl: string,
  ) {}

  async announce(c: ConnectionId): Promise<void> {
    await this.pool.query('SELECT pg_notify($1, $2)', [CHANNEL, connectionKey(c)]);
  }

  listen(onChange: (connectionKey: string) => void, onLive: (live: boolean) => void): void {
    onLive(false);
    const listen = async () => {
      if (this.closed) return;
      const client = new Client({ connectionString: this.databaseUrl, connectionTimeoutMillis: 5000 });
      const retry = () => {
        if (this.listener !== client) return;
        this.listener = undefined;
        onLive(false);
        client.end().catch(() => undefined);
        setTimeout(() => void listen(), 1000).unref();
      };
      this.listener = client;
      client.on('notification', (message) => message.payload && onChange(message.payload));
      client.on('error', retry);
      client.on('end', retry);
      try {
        await client.connect();
        await client.query(`LISTEN ${CHANNEL}`);
        if (this.listener === client) onLive(true);
      } catch {
        retry();
      }
    };
    void listen();
  }

  async close(): Promise<void> {
    this.closed = true;
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => undefined);
  }
}
