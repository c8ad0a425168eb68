// The CI workflow that publishes the adapter image publishes the image the chart installs by default.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { runCommand } from "../../dev/cluster/commands.js";

const root = path.resolve(import.meta.dirname, "../..");
// Built from the Go module proxy on demand (docs/deploy-to-azure.md):
// GOBIN=$PWD/.cache/tools go install github.com/rhysd/actionlint/cmd/actionlint@latest
const actionlint = path.join(root, ".cache/tools/actionlint");
const read = (file: string) => parse(readFileSync(path.join(root, file), "utf8")) as Record<string, unknown>;

describe(".github/workflows/adapter-image.yml", () => {
  const workflow = read(".github/workflows/adapter-image.yml") as {
    on: { push: { tags: string[] } };
    env: { IMAGE: string };
    jobs: { image: { steps: { uses?: string; with?: { tags?: string; push?: boolean } }[] } };
  };

  it("pushes, on a version tag, the repository the chart's values name by default", () => {
    const values = read("charts/iot-edge-connector/values.yaml") as {
      image: { repository: string; tag: string };
    };
    expect(workflow.on.push.tags).toEqual(["v*.*.*"]);
    expect(workflow.env.IMAGE).toBe(values.image.repository);
    // The chart's default tag is its appVersion; the workflow refuses a tag that is not.
    expect(values.image.tag).toBe("");
    const push = workflow.jobs.image.steps.find((step) => step.uses?.startsWith("docker/build-push-action"));
    expect(push?.with).toMatchObject({
      push: true,
      tags: "${{ env.IMAGE }}:${{ steps.version.outputs.version }}",
    });
  });

  it.skipIf(!existsSync(actionlint))("passes actionlint", async () => {
    const { stdout } = await runCommand(actionlint, [".github/workflows/adapter-image.yml"], { cwd: root });
    expect(stdout).toBe("");
  });
});
