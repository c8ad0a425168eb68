import { describe, expect, it } from "vitest";
import { KeyedSerial } from "../../lib/provider/keyedSerial.js";

/** A task that records when it starts and ends and finishes when `release` is called. */
function gatedTask(log: string[], name: string) {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const task = async () => {
    log.push(`${name} start`);
    await gate;
    log.push(`${name} end`);
    return name;
  };
  return { task, release };
}

describe("KeyedSerial", () => {
  it("runs tasks of one key one after another, in the order they came", async () => {
    const serial = new KeyedSerial();
    const log: string[] = [];
    const first = gatedTask(log, "a1");
    const second = gatedTask(log, "a2");
    const results = [serial.run("a", first.task), serial.run("a", second.task)];
    await Promise.resolve();
    expect(log).toEqual(["a1 start"]);
    first.release();
    second.release();
    expect(await Promise.all(results)).toEqual(["a1", "a2"]);
    expect(log).toEqual(["a1 start", "a1 end", "a2 start", "a2 end"]);
  });

  it("runs tasks of different keys side by side", async () => {
    const serial = new KeyedSerial();
    const log: string[] = [];
    const a = gatedTask(log, "a");
    const b = gatedTask(log, "b");
    const results = [serial.run("a", a.task), serial.run("b", b.task)];
    await new Promise((resolve) => setImmediate(resolve));
    expect(log).toEqual(["a start", "b start"]);
    b.release();
    a.release();
    expect(await Promise.all(results)).toEqual(["a", "b"]);
  });

  it("a failing task fails its caller only and the next task of its key still runs", async () => {
    const serial = new KeyedSerial();
    const failing = serial.run("a", () => Promise.reject(new Error("storage said no")));
    const next = serial.run("a", () => Promise.resolve("ran"));
    await expect(failing).rejects.toThrow("storage said no");
    expect(await next).toBe("ran");
  });

  it("forgets a key once its tasks are done", async () => {
    const serial = new KeyedSerial();
    await Promise.all([serial.run("a", () => Promise.resolve(1)), serial.run("b", () => Promise.resolve(2))]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(serial.size).toBe(0);
  });
});
