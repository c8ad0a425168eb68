// The hub-by-hub timers: a hub that fails is logged without its secrets and the next hub still runs.
import { describe, expect, it } from "vitest";
import { forEachHub } from "../../lib/app/forEachHub.js";

describe("forEachHub", () => {
  it("runs every hub, logs each outcome, and a failure without the key it carried", async () => {
    const lines: string[] = [];
    const errors: string[] = [];
    await forEachHub(
      [{ name: "hub-a" }, { name: "hub-b" }],
      "status reconcile",
      { log: (line) => void lines.push(line), error: (line) => void errors.push(line) },
      (hub) => {
        if (hub === "hub-a")
          return Promise.reject(
            new Error(
              "HostName=hub-a.azure-devices.net;SharedAccessKeyName=s;SharedAccessKey=c2VjcmV0 refused",
            ),
          );
        return Promise.resolve("3 compared");
      },
    );
    expect(lines).toEqual(["status reconcile on hub-b: 3 compared"]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^status reconcile on hub-a failed: /);
    expect(errors[0]).not.toContain("c2VjcmV0");
  });
});
