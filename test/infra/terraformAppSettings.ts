// Applies infra/modules/app-settings (plain inputs, no provider, nothing leaves the machine) in a
// scratch directory and returns the app settings the Terraform would give the Functions app.
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const moduleDir = fileURLToPath(new URL("../../infra/modules/app-settings", import.meta.url));

export interface AppSettingsModuleInputs {
  hubs: Record<
    string,
    {
      /** exactly one of host_name (managed identity) and connection */
      host_name?: string;
      connection?: string;
      events_connection: string;
      events_name: string;
      consumer_group: string;
      sku: string;
      units: number;
      base_deployment: boolean;
    }
  >;
  /** exactly one of account_name (managed identity) and connection */
  storage: { account_name?: string; connection?: string };
  release_grace_seconds: number;
  reconcile_schedule: string;
  task_hub_backlog_limit: number;
  base_target_condition: string;
  base_edge_agent_image: string;
  base_edge_hub_image: string;
  base_registry_credentials: string;
  log_level: string;
  /** FLEET_POLICY text; the module's default is "" */
  fleet_policy?: string;
  purge_schedule: string;
  nodes: { cluster: string; hub: string; node: string; key_sha256: string }[];
}

export async function terraformAppSettings(inputs: AppSettingsModuleInputs): Promise<Record<string, string>> {
  const dir = await mkdtemp(path.join(tmpdir(), "infra-app-settings-"));
  try {
    const source = `./${path.relative(dir, moduleDir).split(path.sep).join("/")}`;
    const config = { module: { app_settings: { source, ...inputs } }, output: { settings: { value: "${module.app_settings.settings}" } } };
    await writeFile(path.join(dir, "main.tf.json"), JSON.stringify(config));
    await writeFile(path.join(dir, "terraformrc"), "");
    // No version checkpoint, no user CLI config: the run is offline and the same everywhere.
    const env = { ...process.env, CHECKPOINT_DISABLE: "1", TF_IN_AUTOMATION: "1", TF_CLI_CONFIG_FILE: path.join(dir, "terraformrc") };
    const terraform = (...args: string[]) => run("terraform", args, { cwd: dir, env });
    await terraform("init", "-input=false", "-no-color");
    await terraform("apply", "-auto-approve", "-input=false", "-no-color");
    const { stdout } = await terraform("output", "-json", "settings");
    return JSON.parse(stdout) as Record<string, string>;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
