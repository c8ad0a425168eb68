// Each simulator in a parallel test run needs its own loopback address, because azure-iothub can only
// reach port 443. Picks a random 127.x.y.z whose port 443 is free (checked by binding it briefly).
import { createServer } from "node:net";

const ATTEMPTS = 20;

function randomLoopbackAddress(): string {
  const octet = () => 1 + Math.floor(Math.random() * 254);
  return `127.${octet()}.${octet()}.${octet()}`;
}

async function portIsFree(host: string, port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once("error", () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/** A random loopback address whose `port` (443 by default) nobody listens on. */
export async function freeLoopbackHost(port = 443): Promise<string> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt += 1) {
    const host = randomLoopbackAddress();
    if (await portIsFree(host, port)) return host;
  }
  throw new Error(`No free loopback address for port ${port} after ${ATTEMPTS} attempts`);
}
