/**
 * A pass-through for the provider's token endpoint, for the crash and pause tests: it forwards
 * every request and can refuse new ones, with the 503 a provider sends when it processed nothing,
 * until the refreshes under way have been answered and committed: by default `settleMs` after
 * the last (generous, since a loaded machine may take a while); or once the test's `settled`
 * condition holds, e.g. that the backend kept each refresh answer sent (`refreshesAnswered`). A
 * SIGKILL or SIGSTOP taken then never lands while a refresh of that backend is at the provider,
 * or its answer not yet kept: the one window no backend can close (see crash-restart.test.ts).
 * Refused, not held: a held request of a backend killed meanwhile would still reach the provider
 * once the gate opens.
 * It can also cross the next two answers (`crossNext`): each request gets the other's, as a
 * confused provider or a mix-up on the way would deliver them.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeServer } from '../../server/http/close-server';

export interface TokenGate {
  url: string;
  /**
   * Answers new requests 503 `temporarily_unavailable`, waits until none is under way and
   * `settled` holds (by default: `settleMs` passed since the last), returns the release.
   */
  refuse(settled?: () => boolean | Promise<boolean>): Promise<() => void>;
  /** 200 answers sent to refresh requests (`grant_type=refresh_token`) so far. */
  readonly refreshesAnswered: number;
  /** The next two answers are held until both have come, then each is sent to the other request. */
  crossNext(): void;
  close(): Promise<void>;
}

export async function startTokenGate(target: string, settleMs = 1000): Promise<TokenGate> {
  let active = 0;
  let lastDone = 0;
  let refusing = false;
  let refreshesAnswered = 0;
  type Answer = { status: number; type: string; body: Buffer };
  let crossing: Array<{ answer: Answer; send: (other: Answer) => void }> | undefined;
  const server = http.createServer(async (req, res) => {
    if (refusing) {
      res.writeHead(503, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ error: 'temporarily_unavailable', error_description: 'Gate closed (test).' }));
    }
    active++;
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const headers = Object.fromEntries(['content-type', 'authorization', 'accept'].flatMap((h) => (req.headers[h] ? [[h, String(req.headers[h])]] : [])));
      const fetched = await fetch(`${target}${req.url}`, { method: req.method, headers, body: chunks.length ? Buffer.concat(chunks) : undefined });
      const answer = { status: fetched.status, type: fetched.headers.get('content-type') ?? 'application/json', body: Buffer.from(await fetched.arrayBuffer()) };
      const refresh = new URLSearchParams(Buffer.concat(chunks).toString()).get('grant_type') === 'refresh_token';
      const send = ({ status, type, body }: Answer) => {
        if (refresh && status === 200) refreshesAnswered++;
        res.writeHead(status, { 'content-type': type });
        res.end(body);
      };
      if (!crossing) return send(answer);
      const pair = crossing;
      pair.push({ answer, send });
      if (pair.length === 2) {
        crossing = undefined;
        pair[0].send(pair[1].answer);
        pair[1].send(pair[0].answer);
      }
    } catch {
      res.destroy();
    } finally {
      active--;
      lastDone = Date.now();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const quiet = () => Date.now() - lastDone >= settleMs;
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    refuse: async (settled = quiet) => {
      refusing = true;
      // Nothing can start meanwhile, so `settled` sees every answer sent.
      while (active > 0 || !(await settled())) await new Promise((resolve) => setTimeout(resolve, 10));
      return () => (refusing = false);
    },
    get refreshesAnswered() {
      return refreshesAnswered;
    },
    crossNext: () => void (crossing = []),
    close: () => closeServer(server),
  };
}
