// Timer triggers: NCRONTAB schedules with seconds (`{second} {minute} {hour} {day} {month}
// {day-of-week}`) or a TimeSpan (`hh:mm:ss`), `%Setting%` references resolved from app settings,
// in UTC unless WEBSITE_TIME_ZONE names a zone; `runOnStartup` fires once at start. Invocations
// of one function never overlap: the next occurrence is planned when the previous run ended.
import { CronExpressionParser } from "cron-parser";
import type { Logger } from "pino";
import type { HostInvoker } from "./hostInvoker.js";
import type { Registration } from "./functionsCore.js";
import { jsonData } from "./invokeFunction.js";

export interface Schedule {
  /** The first occurrence strictly after `after`. */
  next(after: Date): Date;
}

const maxTimeoutMs = 2 ** 31 - 1;

/** Replaces `%Name%` with the app setting Name, as the host does for binding expressions. */
export function resolveSettingReferences(text: string, env: NodeJS.ProcessEnv, what: string): string {
  return text.replace(/%([^%]+)%/g, (_match, name: string) => {
    const value = env[name];
    if (value === undefined) throw new Error(`${what}: app setting "${name}" is not set`);
    return value;
  });
}

export function parseSchedule(expression: string, functionName: string, timeZone?: string): Schedule {
  const timeSpan = /^(\d+):([0-5]\d):([0-5]\d)$/.exec(expression.trim());
  if (timeSpan) {
    const [, hours, minutes, seconds] = timeSpan.map(Number) as [number, number, number, number];
    const periodMs = ((hours * 60 + minutes) * 60 + seconds) * 1000;
    if (periodMs === 0)
      throw new Error(`timer "${functionName}": schedule "${expression}" has a zero period`);
    return { next: (after) => new Date(after.getTime() + periodMs) };
  }
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 6) {
    throw new Error(
      `timer "${functionName}": schedule "${expression}" must have six NCRONTAB fields ` +
        "({second} {minute} {hour} {day} {month} {day-of-week}) or be a TimeSpan hh:mm:ss",
    );
  }
  try {
    CronExpressionParser.parse(expression, { tz: timeZone ?? "UTC" });
  } catch (error) {
    throw new Error(
      `timer "${functionName}": schedule "${expression}" is invalid: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  return {
    next: (after) =>
      CronExpressionParser.parse(expression, { currentDate: after, tz: timeZone ?? "UTC" })
        .next()
        .toDate(),
  };
}

interface TimerFunction {
  registration: Registration;
  triggerName: string;
  schedule: Schedule;
  runOnStartup: boolean;
}

export class TimerTriggers {
  readonly #functions: TimerFunction[];
  readonly #invoker: HostInvoker;
  readonly #logger: Logger;
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #running = new Set<Promise<void>>();
  #stopped = false;

  constructor(invoker: HostInvoker, logger: Logger, env: NodeJS.ProcessEnv = process.env) {
    this.#invoker = invoker;
    this.#logger = logger.child({ component: "timer" });
    this.#functions = invoker.withTrigger("timerTrigger").map(({ registration, triggerName, trigger }) => {
      const name = registration.metadata.name;
      if (typeof trigger.schedule !== "string") throw new Error(`timer "${name}": schedule is missing`);
      const expression = resolveSettingReferences(trigger.schedule, env, `timer "${name}"`);
      return {
        registration,
        triggerName,
        schedule: parseSchedule(expression, name, env.WEBSITE_TIME_ZONE),
        runOnStartup: trigger.runOnStartup === true,
      };
    });
  }

  start(): void {
    for (const timer of this.#functions) {
      const now = new Date();
      if (timer.runOnStartup) this.#track(this.#fire(timer, now, now));
      else this.#plan(timer, now, undefined);
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    await Promise.all(this.#running);
  }

  #track(run: Promise<void>): void {
    this.#running.add(run);
    void run.finally(() => this.#running.delete(run));
  }

  #plan(timer: TimerFunction, after: Date, last: Date | undefined): void {
    if (this.#stopped) return;
    const due = timer.schedule.next(after);
    const wait = () => {
      const remaining = due.getTime() - Date.now();
      if (remaining > 0) {
        const handle = setTimeout(
          () => {
            this.#timers.delete(handle);
            wait();
          },
          Math.min(remaining, maxTimeoutMs),
        );
        this.#timers.add(handle);
        return;
      }
      this.#track(this.#fire(timer, due, last));
    };
    wait();
  }

  async #fire(timer: TimerFunction, due: Date, last: Date | undefined): Promise<void> {
    const name = timer.registration.metadata.name;
    const next = timer.schedule.next(due);
    // The shape the real host passes (the library turns it into camelCase).
    const timerInfo = {
      Schedule: { AdjustForDST: true },
      ScheduleStatus: {
        Last: (last ?? due).toISOString(),
        Next: next.toISOString(),
        LastUpdated: new Date().toISOString(),
      },
      IsPastDue: Date.now() - due.getTime() > 1000,
    };
    try {
      await this.#invoker.invokeWithRetries(timer.registration, timer.triggerName, jsonData(timerInfo));
    } catch (error) {
      this.#logger.error({ function: name, err: error }, "timer function failed");
    }
    this.#plan(timer, new Date(Math.max(Date.now(), due.getTime())), due);
  }
}
