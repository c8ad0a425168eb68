import { describe, expect, it } from "vitest";
import { adapterSettingNames } from "../../lib/adapter/config.js";
import { startAdapterProcess } from "../../dev/connector/adapterProcess.js";

describe("adapter process", () => {
  it("exits with code 2 and one log line naming every bad setting, without the key", async () => {
    const adapter = startAdapterProcess(["--function-key=do-not-print-me", "--hub-name=x"]);
    const code = await adapter.exited;
    expect(code).toBe(2);
    const line = JSON.parse(adapter.output.trim().split("\n")[0] ?? "{}") as {
      msg: string;
      problems: { field: string }[];
    };
    expect(line.problems.map((p) => p.field)).toContain("nodeName (--node-name / NODE_NAME)");
    expect(line.msg).toContain("hubName (--hub-name / HUB_NAME): must be an IoT Hub name");
    expect(adapter.output).not.toContain("do-not-print-me");
  });

  it("prints every flag with its environment variable for --help and exits 0 without starting", async () => {
    const adapter = startAdapterProcess(["--help"]);
    expect(await adapter.exited).toBe(0);
    expect(adapter.output).toMatch(/^usage: /);
    for (const [flag, variable] of Object.values(adapterSettingNames))
      expect(adapter.output).toMatch(new RegExp(`--${flag} +${variable}\\n`));
  });
});
