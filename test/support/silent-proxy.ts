/**
 * A loopback TCP proxy that can go silent as a partitioned network path does: no byte crosses in
 * either direction and no socket is closed (no FIN, no RST); what was sent waits, and crosses on
 * resume. Connections made while it is silent are accepted and silent too. A socket closed on
 * one side is closed on the other at once (a partition would hold that too; no test relies on it).
 */
import net, { type AddressInfo } from 'node:net';

export interface SilentProxy {
  /** The proxy's port on 127.0.0.1. */
  port: number;
  silence(): void;
  resume(): void;
  close(): Promise<void>;
}

type Pair = [net.Socket, net.Socket];

export async function startSilentProxy(target: { host: string; port: number }, maxConnections = 32): Promise<SilentProxy> {
  let silent = false;
  const pairs = new Set<Pair>();
  const flow = ([a, b]: Pair) => {
    if (silent) {
      a.unpipe(b).pause();
      b.unpipe(a).pause();
    } else {
      a.pipe(b);
      b.pipe(a);
    }
  };
  const server = net.createServer((downstream) => {
    const pair: Pair = [downstream, net.connect(target.port, target.host)];
    pairs.add(pair);
    for (const socket of pair) {
      socket.on('error', () => undefined);
      socket.on('close', () => {
        pairs.delete(pair);
        pair.forEach((s) => s.destroy());
      });
    }
    flow(pair);
  });
  server.maxConnections = maxConnections;
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const switchTo = (on: boolean) => {
    if (silent === on) return; // a pair piped twice would carry every byte twice
    silent = on;
    pairs.forEach(flow);
  };
  return {
    port: (server.address() as AddressInfo).port,
    silence: () => switchTo(true),
    resume: () => switchTo(false),
    close: async () => {
      pairs.forEach((pair) => pair.forEach((s) => s.destroy()));
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
