// CPU and memory from the kernel's accounting (/proc): a process's own, and the whole machine's
// busy time, which with the processes' says whether a run waited for CPU (2 shared cores) or for
// something else.
import { readFileSync } from "node:fs";

const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ on Linux (getconf CLK_TCK)

/**
 * CPU (user + system), current and peak resident memory of a process; `withChildren` adds the CPU of
 * its children that exited (the kubectl runs of a bench).
 */
export function processUsage(
  pid: number,
  options: { withChildren?: boolean } = {},
): { cpuSeconds: number; rssMiB: number; peakRssMiB: number } {
  // fields after the parenthesised command name: state is field 3, utime 14, stime 15, cutime 16, cstime 17
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = [11, 12, ...(options.withChildren ? [13, 14] : [])].reduce(
    (total, index) => total + Number(fields[index]),
    0,
  );
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1]);
  return {
    cpuSeconds: ticks / CLOCK_TICKS_PER_SECOND,
    rssMiB: kib("VmRSS") / 1024,
    peakRssMiB: kib("VmHWM") / 1024,
  };
}

/** A process's CPU seconds so far; NaN for one that is not running (no pid). */
export function cpuSecondsOf(pid: number | undefined): number {
  return pid === undefined ? NaN : processUsage(pid).cpuSeconds;
}

/** CPU seconds all cores spent busy since boot (everything but idle and iowait). */
export function machineBusySeconds(): number {
  // cpu  user nice system idle iowait irq softirq steal ...
  const [, ...fields] = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/);
  const ticks = fields.map(Number);
  const busy = ticks
    .slice(0, 8)
    .reduce((total, value, index) => (index === 3 || index === 4 ? total : total + value), 0);
  return busy / CLOCK_TICKS_PER_SECOND;
}
