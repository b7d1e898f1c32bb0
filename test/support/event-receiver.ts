/**
 * A real HTTP endpoint for connection events (EVENTS_WEBHOOK_URL): it records every delivery
 * and answers 204 (after a random wait of up to `delayMs`, so parallel requests finish out of order), or — while `down` — 503, or hangs past the sender's timeout while `hanging`.
 * `accepted()` are the events it took (2xx), in arrival order, each checked with the Standard
 * Webhooks reference library (`standardwebhooks`), an implementation independent of the backend's.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import type { ConnectionEvent } from '../../src/common/connection-event';
import { closeServer } from '../../server/http/close-server';
import { fixedKey } from './fixtures';

export interface Delivery {
  headers: Record<string, string>;
  body: string;
  status: number;
}

export interface EventReceiver {
  url: string;
  secrets: string[];
  deliveries: Delivery[];
  down: boolean;
  hanging: boolean;
  delayMs: number;
  /** Events taken (2xx), verified against every secret; throws on a signature that does not verify. */
  accepted(): ConnectionEvent[];
  close(): Promise<void>;
}

/** Two secrets, as during a rotation: each delivery carries a signature for both. */
export const EVENT_SECRETS = [`whsec_${fixedKey('suite events secret 1')}`, `whsec_${fixedKey('suite events secret 2')}`];

export async function startEventReceiver(port = 0): Promise<EventReceiver> {
  const receiver: EventReceiver = {
    url: '',
    secrets: EVENT_SECRETS,
    deliveries: [],
    down: false,
    hanging: false,
    delayMs: 0,
    accepted: () =>
      receiver.deliveries.filter((d) => d.status < 300).map((d) => {
        const verified = EVENT_SECRETS.map((secret) => new Webhook(secret).verify(d.body, d.headers) as ConnectionEvent);
        return verified[0];
      }),
    close: () => closeServer(server),
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (receiver.hanging) return; // never answers: the sender's timeout decides
      const status = receiver.down ? 503 : 204;
      setTimeout(() => {
        receiver.deliveries.push({ headers: req.headers as Record<string, string>, body: Buffer.concat(chunks).toString(), status });
        res.writeHead(status).end();
      }, Math.random() * receiver.delayMs);
    });
  });
  server.listen(port, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
  return receiver;
}

/** The stack's clock `seconds` on, and the backend's deliverer woken: the deliveries due then go now, not at its next poll. */
export function deliverLater(stack: { clock: { offset: number } }, broker: { deliveries: { wake(): void } }, seconds: number): void {
  stack.clock.offset += seconds;
  broker.deliveries.wake();
}
