// Bounded polling for end-to-end tests: the check runs until it passes or the attempts run out,
// and the last failure is what the test reports.
import { setTimeout as sleep } from "node:timers/promises";

export async function eventually<T>(
  check: () => Promise<T> | T,
  { attempts = 150, intervalMs = 200 }: { attempts?: number; intervalMs?: number } = {},
): Promise<T> {
  let lastError: unknown;
  for (let attempt = 0; attempt < attempts; attempt++) {
    try {
      return await check();
    } catch (error) {
      lastError = error;
    }
    await sleep(intervalMs);
  }
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}
