// The adapter image as the Dockerfile builds it, assembled without Docker (none on the development
// machines): both stages in a temp folder outside the repository, so the runtime stage's packages
// resolve from its own node_modules only. It starts, answers --help, and holds only the adapter.
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { projectNode } from "../../dev/package/compileApp.js";
import { filesUnder } from "../../dev/package/functionsPackage.js";
import { adapterSettingNames } from "../../lib/adapter/config.js";
import { assembleStages, parseDockerfile, type AssembledStage } from "./dockerfileStages.js";
import { compareWithLockfile } from "./shippedPackages.js";

const root = path.resolve(import.meta.dirname, "../..");
/** A compile and a production install: minutes on a busy 2-core machine. */
const assembleTimeoutMs = 600_000;

describe("the adapter image", () => {
  let workDir: string;
  let image: AssembledStage;
  let appDir: string;

  beforeAll(async () => {
    workDir = mkdtempSync(path.join(tmpdir(), "adapter-image-test-"));
    const stages = parseDockerfile(readFileSync(path.join(root, "Dockerfile"), "utf8"));
    const assembled = await assembleStages(stages, workDir);
    image = assembled.get(stages.at(-1)!.name)!;
    appDir = path.join(image.rootfs, image.workdir);
  }, assembleTimeoutMs);

  afterAll(() => {
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it("starts its entrypoint and answers --help with the usage, exit 0", async () => {
    const [command, ...args] = image.entrypoint;
    expect(command).toBe("node");
    const { stdout } = await promisify(execFile)(projectNode, [...args, "--help"], {
      cwd: appDir,
      env: { PATH: process.env.PATH, ...image.env },
    });
    expect(stdout).toMatch(/^usage: /);
    for (const [flag] of Object.values(adapterSettingNames)) expect(stdout).toContain(`--${flag} `);
  });

  it("holds the manifests, the production node_modules and the adapter's part of dist/lib only", () => {
    expect(readdirSync(appDir).sort()).toEqual(["dist", "node_modules", "package-lock.json", "package.json"]);
    expect(readdirSync(path.join(appDir, "dist"))).toEqual(["lib"]);
    expect(readdirSync(path.join(appDir, "dist/lib")).sort()).toEqual([
      "adapter",
      "hub",
      "policy",
      "provider",
      "rollout",
      "translate",
    ]);
    expect(readdirSync(path.join(appDir, "dist/lib/provider"))).toEqual(["providerContract.js"]);
    expect(readdirSync(path.join(appDir, "dist/lib/hub")).sort()).toEqual(["redact.js", "twinQuery.js"]);
  });

  it("ships every production package of the lockfile and none only devDependencies need", () => {
    const files = filesUnder(appDir).filter((file) => file.startsWith("node_modules/"));
    expect(compareWithLockfile(files)).toEqual({ notProduction: [], missing: [] });
  });
});
