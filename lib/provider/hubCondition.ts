// The virtual node's HubReachable condition. A hub in trouble is a condition of its own, never the
// node's Ready (the adapter owns Ready: docs/outages.md), and a hub that answers 429 is busy, not
// down: the connector waits for its budget and nothing leaves the devices.
import type { HubReachability } from "../hub/hubTraffic.js";
import type { HubSchedulerView } from "../scheduler/schedulerContract.js";
import type { NodeConditionsResponse } from "./providerContract.js";

type Condition = NodeConditionsResponse["conditions"][number];

export function hubReachableCondition(
  hub: string,
  reachability: HubReachability,
  scheduler: Pick<HubSchedulerView, "lastError" | "throttledUntil"> | undefined,
  now: Date,
): Condition {
  const keepRunning = "workloads keep running on the devices; changes wait until it answers";
  const throttled = {
    type: "HubReachable",
    status: "True",
    reason: "HubThrottled",
    message: `IoT Hub ${hub} answers 429 (throttled): the connector waits for its budget`,
  } as const;
  if (reachability.reachable === true) {
    if (reachability.throttled) return throttled;
    return { type: "HubReachable", status: "True", reason: "HubAnswers", message: `IoT Hub ${hub} answers` };
  }
  if (reachability.reachable === false) {
    const failure = reachability.failure;
    const answer = failure?.statusCode !== undefined ? `answered ${failure.statusCode}` : "did not answer";
    const since = failure ? ` at ${new Date(failure.atMs).toISOString()}` : "";
    return {
      type: "HubReachable",
      status: "False",
      reason: "HubUnreachable",
      message: `IoT Hub ${hub} ${answer}${since}; ${keepRunning}`,
    };
  }
  // This instance has not talked to the hub yet: the scheduler's last operations tell.
  if (scheduler?.lastError !== undefined)
    return {
      type: "HubReachable",
      status: "False",
      reason: "HubOperationsFailing",
      message: `IoT Hub ${hub}: ${scheduler.lastError}; ${keepRunning}`,
    };
  if (scheduler?.throttledUntil !== undefined && Date.parse(scheduler.throttledUntil) > now.getTime())
    return throttled;
  return {
    type: "HubReachable",
    status: "Unknown",
    reason: "NoHubAnswerYet",
    message: `no request to IoT Hub ${hub} has been answered yet`,
  };
}
