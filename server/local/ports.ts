/** The offline stack's ports: a taken one stops start-up with one line naming the variable that moves it. */
import { createServer } from 'node:net';

const portTaken = (variable: string, port: number) => new Error(`port ${port} is taken; set ${variable} to a free port`);

/** A port some other process listens on (0 and invalid ports are not checked: the start reports those). */
function isTaken(port: number): Promise<boolean> {
  if (!Number.isInteger(port) || port < 1 || port > 65535) return Promise.resolve(false);
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' ? resolve(true) : reject(err)));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(false)));
  });
}

/** Checked before the stack loads, so that a taken port stops start-up at once; the first taken one, in the order given, is named. */
export async function checkPortsFree(ports: Array<[variable: string, port: number]>): Promise<void> {
  const taken = await Promise.all(ports.map(([, port]) => isTaken(port)));
  const first = taken.indexOf(true);
  if (first >= 0) throw portTaken(...ports[first]);
}

/** `start` listening on `port`; a port taken since the check above stops start-up with the same line. */
export async function listening<T>(variable: string, port: number, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (err) {
    if ((err as { code?: string }).code === 'EADDRINUSE') throw portTaken(variable, port);
    throw err;
  }
}
