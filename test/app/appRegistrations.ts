// Every function a built app registers, with its bindings: printRegistrations.ts loads the app in a
// process of its own (the local host's loader, from package.json `main`) with one hub configured.
// The app's packages resolve from appDir, so a folder outside the repository proves its own
// node_modules suffice.
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { projectNode } from "../../dev/package/compileApp.js";
import { hubSettingNames } from "../../lib/app/settings.js";

export interface Binding {
  type: string;
  direction: string;
  [key: string]: unknown;
}
export interface Metadata {
  name: string;
  bindings: Record<string, Binding>;
}
export interface AppRegistrations {
  functions: Metadata[];
  entryFiles: string[];
}

const root = path.resolve(import.meta.dirname, "../..");

export async function appRegistrations(appDir: string, hub: string): Promise<AppRegistrations> {
  const names = hubSettingNames(hub);
  const { stdout } = await promisify(execFile)(
    projectNode,
    ["--import", "tsx", path.join(root, "test/app/printRegistrations.ts"), appDir],
    {
      cwd: root,
      encoding: "utf8",
      env: {
        ...process.env,
        CONNECTOR_HUBS: hub,
        [names.connection]: `HostName=${hub}.azure-devices.net;SharedAccessKeyName=iothubowner;SharedAccessKey=AAAA`,
        [names.eventsConnection]: `Endpoint=sb://example.servicebus.windows.net/;SharedAccessKeyName=service;SharedAccessKey=AAAA;EntityPath=${hub}`,
        [names.eventsName]: hub,
        AzureWebJobsStorage: "UseDevelopmentStorage=true",
      },
    },
  );
  return JSON.parse(stdout) as AppRegistrations;
}

/** The input binding whose type ends in Trigger. */
export function triggerOf(metadata: Metadata): Binding | undefined {
  return Object.values(metadata.bindings).find(
    (binding) => binding.direction === "in" && /Trigger$/.test(binding.type),
  );
}
