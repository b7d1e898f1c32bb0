/**
 * An events receiver (EVENTS_WEBHOOK_URL) that attacks the backend with its answers: 300 MB
 * bodies, answers that stall or are cut off after their headers, and requests it never answers.
 * The backend reads a few KB of each answer and drops the rest with the connection, counts a
 * stalled or cut-off answer as a failed attempt (a warn line, retried later), and keeps at most
 * 10 deliveries open at once.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeServer } from '../../server/http/close-server';
import { eventually, newUser } from '../support/fixtures';
import { startBroker, type TestBroker } from '../support/in-process-broker';
import { logLines } from '../support/leak-check';
import { connect, connectAll } from '../support/signed-calls';
import { deliverLater, EVENT_SECRETS } from '../support/event-receiver';
import { type Stack, stackSuite } from '../support/stack';

const MB = 1024 * 1024;
/** What the reported receiver answered to each delivery. */
const HUGE_ANSWER_BYTES = 300 * MB;

type Answer = 'normal' | 'unavailable' | 'huge' | 'stall' | 'cut off' | 'never';

interface Exchange {
  eventId: string;
  answer: Answer;
  /** Bytes of the answer's body the receiver could hand to the connection before it closed. */
  sentBytes: number;
  /** Whether the connection closed before the answer's end. */
  droppedEarly: boolean;
}

interface HostileReceiver {
  url: string;
  answer: Answer;
  exchanges: Exchange[];
  open: number;
  maxOpen: number;
  close(): Promise<void>;
}

const CHUNK = Buffer.alloc(MB, 'x');

async function startHostileReceiver(): Promise<HostileReceiver> {
  const receiver: HostileReceiver = { url: '', answer: 'normal', exchanges: [], open: 0, maxOpen: 0, close: () => closeServer(server) };
  const server = http.createServer((req, res) => {
    receiver.maxOpen = Math.max(receiver.maxOpen, ++receiver.open);
    res.once('close', () => receiver.open--);
    req.resume();
    req.once('end', () => {
      const exchange: Exchange = { eventId: String(req.headers['webhook-id']), answer: receiver.answer, sentBytes: 0, droppedEarly: false };
      receiver.exchanges.push(exchange);
      res.once('close', () => (exchange.droppedEarly = !res.writableFinished));
      switch (exchange.answer) {
        case 'normal':
          return res.writeHead(204).end();
        case 'unavailable':
          return res.writeHead(503).end();
        case 'never':
          return;
        case 'stall':
          return res.writeHead(200, { 'content-type': 'application/json' }).flushHeaders();
        case 'cut off':
          res.writeHead(200, { 'content-type': 'application/json' }).write('{"ok":');
          return void setTimeout(() => res.destroy(), 50);
        case 'huge': {
          res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': HUGE_ANSWER_BYTES });
          // As fast as the connection takes it, until the answer ends or the connection is gone.
          const pump = () => {
            while (!res.destroyed && exchange.sentBytes < HUGE_ANSWER_BYTES) {
              exchange.sentBytes += CHUNK.length;
              if (!res.write(CHUNK)) return void res.once('drain', pump);
            }
            res.end();
          };
          return pump();
        }
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
  return receiver;
}

let stack: Stack;
let receiver: HostileReceiver;
let broker: TestBroker;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

stackSuite(undefined, (started) => (stack = started));
beforeEach(async () => {
  stack.clock.offset = 0;
  process.on('unhandledRejection', onUnhandled);
  receiver = await startHostileReceiver();
  broker = await startBroker(stack, { events: { webhook: { url: new URL(receiver.url), secrets: EVENT_SECRETS, timeoutMs: 1000, retrySeconds: 3600 } } });
});
afterEach(async () => {
  await broker.stop();
  await receiver.close();
  process.off('unhandledRejection', onUnhandled);
  expect(unhandled).toEqual([]);
});

const deliveredIds = async () => (await broker.storage.events.list('delivered', 100)).map((event) => event.id);
const pendingEvent = async (id: string) => (await broker.storage.events.list('pending', 100)).find((event) => event.id === id);
const retryLines = (outcome: string) => logLines.filter((line) => line.includes('event delivery failed; will retry') && line.includes(`"outcome":"${outcome}"`));

test('a receiver answering each delivery with 300 MB: each is delivered, and drops its connection after a few MB left the receiver', async () => {
  receiver.answer = 'huge';
  const users = Array.from({ length: 5 }, () => newUser('hugeanswer'));
  await connectAll(stack, broker, users);
  expect(await eventually(async () => (await deliveredIds()).length === 5, 20_000)).toBe(true);
  expect(await eventually(() => receiver.open === 0)).toBe(true);

  // A 2xx delivers whatever follows it; the rest of the answer is never read: the connection is
  // dropped, so no more than the socket buffers between the two ever left the receiver.
  expect(receiver.exchanges).toHaveLength(5);
  expect(new Set(receiver.exchanges.map((e) => e.eventId))).toEqual(new Set(await deliveredIds()));
  for (const exchange of receiver.exchanges) {
    expect(exchange.droppedEarly).toBe(true);
    expect(exchange.sentBytes).toBeLessThan(32 * MB);
  }
});

test('an answer that stalls, or is cut off, after its headers is a failed attempt: a warn line, retried with backoff, then delivered', async () => {
  receiver.answer = 'stall';
  const user = newUser('stalled');
  expect((await connect(stack, broker, user)).status).toBe(200);
  expect(await eventually(() => receiver.exchanges.length === 1)).toBe(true);
  const id = receiver.exchanges[0].eventId;
  // The delivery's timeout covers the answer's body: the stalled 200 is not a delivery.
  expect(await eventually(async () => (await pendingEvent(id))?.lastError === 'timeout')).toBe(true);
  expect(retryLines('timeout').some((line) => line.includes(id))).toBe(true);

  receiver.answer = 'cut off';
  deliverLater(stack, broker, 120);
  expect(await eventually(async () => (await pendingEvent(id))?.lastError === 'answer cut off')).toBe(true);
  expect(retryLines('answer cut off').some((line) => line.includes(id))).toBe(true);
  expect(await pendingEvent(id)).toMatchObject({ attempts: 2 });

  receiver.answer = 'normal';
  deliverLater(stack, broker, 7200);
  expect(await eventually(async () => (await deliveredIds()).includes(id))).toBe(true);
  expect(receiver.exchanges.map((e) => [e.eventId, e.answer])).toEqual([[id, 'stall'], [id, 'cut off'], [id, 'normal']]);
});

test('at most 10 deliveries are open at once, however many events are due', async () => {
  // Twelve connections' events fail once, so all twelve are due again together.
  receiver.answer = 'unavailable';
  const users = Array.from({ length: 12 }, () => newUser('concurrent'));
  await connectAll(stack, broker, users);
  expect(await eventually(async () => (await broker.storage.events.list('pending', 100)).filter((e) => e.attempts === 1).length === 12, 10_000)).toBe(true);

  // Now no request is ever answered: each open one stays open until its 1 s timeout.
  receiver.answer = 'never';
  deliverLater(stack, broker, 120);
  const unanswered = () => new Set(receiver.exchanges.filter((e) => e.answer === 'never').map((e) => e.eventId));
  // A round's deliveries timed out: the deliverer is woken for the rest, not left to its next poll.
  expect(await eventually(async () => (await broker.storage.events.list('pending', 100)).filter((e) => e.lastError === 'timeout').length >= 10, 20_000)).toBe(true);
  broker.deliveries.wake();
  expect(await eventually(() => unanswered().size === 12, 20_000)).toBe(true);
  expect(receiver.maxOpen).toBe(10);
});
