// Starting and stopping the host's HTTP servers: loopback only, port 0 for a free one.
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";

export const loopback = "127.0.0.1";

export function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, loopback, () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
