// The whole machine's busy CPU time, from the kernel's accounting (/proc/stat): with the processes'
// own CPU it says whether a run waited for CPU (2 shared cores) or for something else.
import { readFileSync } from "node:fs";

const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ on Linux (getconf CLK_TCK)

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
