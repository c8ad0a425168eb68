// Loads a built Functions app through the local host's loader (the way the Node worker does, from
// package.json `main`) and prints every registration's metadata as JSON: run as its own process,
// because @azure/functions keeps registrations per process.
import { loadApp } from "../../dev/host/loadApp.js";

const appDir = process.argv[2];
if (appDir === undefined) throw new Error("usage: printRegistrations.ts <appDir>");
const app = await loadApp({ appDir });
process.stdout.write(
  JSON.stringify({ entryFiles: app.entryFiles, functions: app.functions.map((f) => f.metadata) }),
);
process.exit(0);
