/**
 * Stripe's rate limit in front of the Secret Store emulator: a loopback proxy that forwards at
 * most `perSecond` requests in any second and answers the rest as Stripe does — 429,
 * `invalid_request_error` with code `rate_limit`. It counts what it forwarded and refused (also
 * at `GET /_proxy/stats`, not counted). For the rate-limit tests, and for the benchmark as a
 * process of its own (rate-limited-store-cli.ts).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeServer } from '../../server/http/close-server';

export interface RateLimitedStore {
  url: string;
  perSecond: number;
  forwarded: number;
  refused: number;
  /** Forwarded requests by `METHOD /path`. */
  routes: Record<string, number>;
  close(): Promise<void>;
}

export async function startRateLimitedStore(target: string, perSecond: number): Promise<RateLimitedStore> {
  const upstream = new URL(target);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  // The times of the requests forwarded within the last second.
  const recent: number[] = [];
  const store: RateLimitedStore = { url: '', perSecond, forwarded: 0, refused: 0, routes: {}, close: async () => {
    await closeServer(server);
    agent.destroy();
  } };
  const server = http.createServer((req, res) => {
    if (req.url === '/_proxy/stats') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ forwarded: store.forwarded, refused: store.refused, routes: store.routes }));
      return;
    }
    const now = Date.now();
    while (recent.length > 0 && recent[0] <= now - 1000) recent.shift();
    if (recent.length >= store.perSecond) {
      store.refused++;
      req.resume();
      res.writeHead(429, { 'content-type': 'application/json', 'request-id': `req_limited${store.refused}` });
      res.end(JSON.stringify({ error: { type: 'invalid_request_error', code: 'rate_limit', message: 'Request rate limit exceeded.' } }));
      return;
    }
    recent.push(now);
    store.forwarded++;
    const route = `${req.method} ${req.url!.split('?')[0]}`;
    store.routes[route] = (store.routes[route] ?? 0) + 1;
    const forward = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers, agent }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  store.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return store;
}
