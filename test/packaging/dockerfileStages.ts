// Assembles a Dockerfile's stages without Docker, each in a folder standing for the stage's
// filesystem: COPY from the build context (the repository, minus .dockerignore) or from an earlier
// stage, WORKDIR, ENV, and the RUN steps this project's Dockerfile uses, npm and npx only. A RUN of
// `npm ci` without --omit=dev is the full install of the same lockfile, which the repository's own
// node_modules already is: it is linked in rather than installed a second time.
import { execFile } from "node:child_process";
import { copyFileSync, cpSync, mkdirSync, readFileSync, statSync, symlinkSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";

const root = path.resolve(import.meta.dirname, "../..");

export interface Instruction {
  keyword: string;
  args: string;
}

export interface Stage {
  name: string;
  instructions: Instruction[];
}

export interface AssembledStage {
  /** The folder standing for the stage's `/`. */
  rootfs: string;
  workdir: string;
  env: Record<string, string>;
  entrypoint: string[];
}

/** Stages in order, continuation lines joined, comments dropped; unnamed stages are named by index. */
export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text.replace(/\\\n/g, " ").split("\n");
  for (const line of lines.map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"))) {
    const [, keyword = "", args = ""] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    if (keyword.toUpperCase() === "FROM") {
      stages.push({ name: /\sAS\s+(\S+)$/i.exec(args)?.[1] ?? String(stages.length), instructions: [] });
    } else {
      const stage = stages.at(-1);
      if (!stage) throw new Error(`${keyword} before the first FROM`);
      stage.instructions.push({ keyword: keyword.toUpperCase(), args });
    }
  }
  return stages;
}

/** Leading `--name=value` flags and the words after them. */
function flagsAndWords(args: string): { flags: Record<string, string>; words: string[] } {
  const flags: Record<string, string> = {};
  const words = args.split(/\s+/);
  while (words[0]?.startsWith("--")) {
    const [name = "", value = ""] = words.shift()!.slice(2).split(/=(.*)/);
    flags[name] = value;
  }
  return { flags, words };
}

function dockerignored(source: string): string | undefined {
  const patterns = readFileSync(path.join(root, ".dockerignore"), "utf8")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
  return patterns.find((pattern) => {
    const glob = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*")}(/|$)`);
    return glob.test(source);
  });
}

/** Docker's COPY: a folder's contents into dest; a file as dest, or into it when dest is a folder. */
function copy(source: string, dest: string, destIsFolder: boolean): void {
  if (statSync(source).isDirectory()) {
    cpSync(source, dest, { recursive: true });
    return;
  }
  const target = destIsFolder ? path.join(dest, path.basename(source)) : dest;
  mkdirSync(path.dirname(target), { recursive: true });
  copyFileSync(source, target);
}

async function runStep(command: string, cwd: string): Promise<void> {
  const [tool = "", ...args] = command.split(/\s+/);
  if (tool !== "npm" && tool !== "npx") throw new Error(`no emulation for RUN ${command}`);
  // The image's own npm cache; here it would be the machine's, shared with everything else.
  if (tool === "npm" && args[0] === "cache") return;
  if (tool === "npm" && args[0] === "ci" && !args.includes("--omit=dev")) {
    // The full install of the same lockfile: the repository's own node_modules.
    symlinkSync(path.join(root, "node_modules"), path.join(cwd, "node_modules"), "dir");
    return;
  }
  await promisify(execFile)(tool, args, { cwd });
}

/** Assembles every stage into workDir/<stage name>; returns the stages by name. */
export async function assembleStages(stages: Stage[], workDir: string): Promise<Map<string, AssembledStage>> {
  const assembled = new Map<string, AssembledStage>();
  for (const stage of stages) {
    const state: AssembledStage = {
      rootfs: path.join(workDir, stage.name),
      workdir: "/",
      env: {},
      entrypoint: [],
    };
    const inStage = (file: string) => path.join(state.rootfs, path.posix.resolve(state.workdir, file));
    mkdirSync(state.rootfs, { recursive: true });
    for (const { keyword, args } of stage.instructions) {
      switch (keyword) {
        case "WORKDIR":
          state.workdir = path.posix.resolve(state.workdir, args);
          mkdirSync(inStage("."), { recursive: true });
          break;
        case "ENV":
          for (const pair of args.split(/\s+/)) {
            const [name = "", value = ""] = pair.split(/=(.*)/);
            state.env[name] = value;
          }
          break;
        case "COPY": {
          const { flags, words } = flagsAndWords(args);
          const dest = words.pop()!;
          const destIsFolder = dest.endsWith("/") || words.length > 1;
          const from = flags.from === undefined ? undefined : assembled.get(flags.from);
          if (flags.from !== undefined && !from) throw new Error(`COPY --from=${flags.from}: no such stage`);
          for (const source of words) {
            if (!from) {
              const ignored = dockerignored(source);
              if (ignored) throw new Error(`COPY ${source}: .dockerignore leaves it out (${ignored})`);
            }
            const origin = from ? path.join(from.rootfs, source) : path.join(root, source);
            copy(origin, inStage(dest), destIsFolder);
          }
          break;
        }
        case "RUN": {
          const { words } = flagsAndWords(args);
          for (const command of words.join(" ").split("&&")) await runStep(command.trim(), inStage("."));
          break;
        }
        case "ENTRYPOINT":
          state.entrypoint = JSON.parse(args) as string[];
          break;
        case "USER":
        case "EXPOSE":
          break; // nothing in the stage's files
        default:
          throw new Error(`no emulation for ${keyword}`);
      }
    }
    assembled.set(stage.name, state);
  }
  return assembled;
}
