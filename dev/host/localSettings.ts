// App settings the way Core Tools provides them: the `Values` of a local.settings.json become
// environment variables of the app's process. A variable already set in the environment wins, so a
// deployment or CI can override a file it does not own.
import { readFileSync } from "node:fs";
import { z } from "zod";

const localSettingsSchema = z.object({
  IsEncrypted: z.boolean().optional(),
  Values: z.record(z.string(), z.string()).optional(),
  ConnectionStrings: z.record(z.string(), z.string()).optional(),
  Host: z.record(z.string(), z.unknown()).optional(),
});

export type AppSettings = Record<string, string>;

/** Reads the `Values` of a local.settings.json file; errors name the file and the field. */
export function readLocalSettings(file: string): AppSettings {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new Error(`settings file ${file} cannot be read as JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const parsed = localSettingsSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join(".") ?? "";
    throw new Error(`settings file ${file}: field "${field}": ${issue?.message ?? "invalid"}`);
  }
  if (parsed.data.IsEncrypted) {
    throw new Error(
      `settings file ${file}: IsEncrypted is true, but the local host reads only plain settings`,
    );
  }
  return parsed.data.Values ?? {};
}

/** Puts settings into process.env without replacing variables already set; returns what applies. */
export function applySettings(settings: AppSettings, env: NodeJS.ProcessEnv = process.env): AppSettings {
  const effective: AppSettings = {};
  for (const [name, value] of Object.entries(settings)) {
    if (env[name] === undefined) env[name] = value;
    effective[name] = env[name] ?? value;
  }
  return effective;
}
