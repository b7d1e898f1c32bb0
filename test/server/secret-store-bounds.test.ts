/**
 * The backend's `stripe` clients (server/stripe-client.ts, `bounded`) against a Secret Store that answers
 * badly: an answer trickling in a byte at a time ends at the client's timeout, however long it
 * would go on; a 300 MB answer is refused after 1 MB is read, the rest never fetched. Either is a
 * StripeConnectionError, which the backend's Secret Store calls retry and then report.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { closeServer } from '../../server/http/close-server';
import { createStripeClient } from '../../server/stripe-client';
import { eventually, KEYS } from '../support/fixtures';

const MB = 1024 * 1024;

interface BadStore {
  url: string;
  /** Bytes of the answer's body handed to the connection before it closed. */
  sentBytes: number;
  closed: boolean;
  close(): Promise<void>;
}

/** A Secret Store whose every answer is a 200 whose body `write`s itself. */
async function startBadStore(write: (res: http.ServerResponse, store: BadStore) => void): Promise<BadStore> {
  const store: BadStore = { url: '', sentBytes: 0, closed: false, close: () => closeServer(server) };
  const server = http.createServer((req, res) => {
    req.resume();
    res.once('close', () => (store.closed = true));
    res.writeHead(200, { 'content-type': 'application/json' });
    write(res, store);
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  store.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return store;
}

/** What the promise settled with, or 'still running' at the deadline (far past any timeout here). */
const settled = (promise: Promise<unknown>, deadlineMs = 15_000) =>
  Promise.race([promise.then(() => 'resolved', (err: unknown) => err), new Promise((resolve) => setTimeout(() => resolve('still running'), deadlineMs).unref())]);

const find = (store: BadStore, timeoutMs: number) =>
  createStripeClient(KEYS.test, { apiBase: store.url, maxNetworkRetries: 0, timeoutMs, bounded: true }).apps.secrets.find({ name: 'oauth.access', scope: { type: 'account' } });

test('an answer trickling in a byte at a time ends at the timeout: a connection error, the connection dropped', async () => {
  const store = await startBadStore((res) => {
    res.write('{');
    const timer = setInterval(() => res.write(' '), 100);
    res.once('close', () => clearInterval(timer));
  });
  try {
    const outcome = await settled(find(store, 1000));
    expect(outcome).toBeInstanceOf(Stripe.errors.StripeConnectionError);
    expect((outcome as Error).message).toMatch(/timeout/);
    expect(await eventually(() => store.closed)).toBe(true);
  } finally {
    await store.close();
  }
});

test('a 300 MB answer is refused after 1 MB: a connection error, and only what the socket buffers hold more ever left the store', async () => {
  const chunk = Buffer.alloc(MB, ' ');
  const store = await startBadStore((res, self) => {
    const pump = () => {
      while (!res.destroyed && self.sentBytes < 300 * MB) {
        self.sentBytes += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end();
    };
    res.write('{"id":');
    pump();
  });
  try {
    const outcome = await settled(find(store, 30_000));
    expect(outcome).toBeInstanceOf(Stripe.errors.StripeConnectionError);
    expect(await eventually(() => store.closed)).toBe(true);
    expect(store.sentBytes).toBeLessThan(32 * MB);
  } finally {
    await store.close();
  }
});
