/** Stops a listening server now: open connections are cut, then it closes. */
import type { Server } from 'node:http';

export async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
