import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHostProcess } from "../../../dev/host/hostProcess.js";
import { parseSchedule } from "../../../dev/host/timerTriggers.js";

describe("NCRONTAB schedules", () => {
  it("reads six fields with seconds, in UTC", () => {
    const everyFiveSeconds = parseSchedule("*/5 * * * * *", "tick");
    expect(everyFiveSeconds.next(new Date("2026-11-25T10:00:02Z")).toISOString()).toBe(
      "2026-11-25T10:00:05.000Z",
    );
    const weekdays = parseSchedule("0 30 9 * * Mon-Fri", "report");
    expect(weekdays.next(new Date("2026-11-28T12:00:00Z")).toISOString()).toBe("2026-11-30T09:30:00.000Z");
  });

  it("reads a TimeSpan hh:mm:ss as a period", () => {
    expect(parseSchedule("00:10:00", "sweep").next(new Date("2026-11-25T10:00:00Z")).toISOString()).toBe(
      "2026-11-25T10:10:00.000Z",
    );
  });

  it("refuses a five-field cron expression, naming the function and the expected fields", () => {
    expect(() => parseSchedule("*/5 * * * *", "tick")).toThrow(
      'timer "tick": schedule "*/5 * * * *" must have six NCRONTAB fields',
    );
  });
});

describe("timer triggers in the local host", () => {
  let workDir: string;
  beforeAll(() => {
    workDir = mkdtempSync(path.join(tmpdir(), "local-host-timer-"));
  });
  afterAll(() => {
    rmSync(workDir, { recursive: true, force: true });
  });

  it("runs on startup and then on its schedule from a %setting%, passing the timer info", async () => {
    const ticksFile = path.join(workDir, "ticks.txt");
    const host = await startHostProcess({
      entry: "functions/ticks.js",
      env: { FIXTURE_TICK_SCHEDULE: "*/1 * * * * *", FIXTURE_TICKS_FILE: ticksFile },
    });
    try {
      let ticks: { isPastDue: boolean; next: string }[] = [];
      for (let attempt = 0; attempt < 100 && ticks.length < 3; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        if (existsSync(ticksFile)) {
          ticks = readFileSync(ticksFile, "utf8")
            .trim()
            .split("\n")
            .map((line) => JSON.parse(line) as { isPastDue: boolean; next: string });
        }
      }
      expect(ticks.length).toBeGreaterThanOrEqual(3);
      for (const tick of ticks) {
        expect(tick.isPastDue).toBe(false);
        expect(new Date(tick.next).getUTCMilliseconds()).toBe(0);
      }
    } finally {
      await host.stop();
    }
  });

  it("retries a failing run as the function's retry policy says, telling each attempt its retryCount", async () => {
    const attemptsFile = path.join(workDir, "attempts.txt");
    const host = await startHostProcess({
      entry: "retries/flakyTimer.js",
      env: { FIXTURE_ATTEMPTS_FILE: attemptsFile },
    });
    try {
      let attempts: string[] = [];
      for (let attempt = 0; attempt < 100 && attempts.length < 3; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        if (existsSync(attemptsFile)) attempts = readFileSync(attemptsFile, "utf8").trim().split("\n");
      }
      expect(attempts).toEqual(["0", "1", "2"]);
      const retryLine = await host.waitForLine("retrying as the function's retry policy says");
      expect(retryLine).toContain('"function":"flakyTick"');
    } finally {
      await host.stop();
    }
  });
});
