// The status pipeline learns the scheduler's configurations from views read at different moments
// (each twin-events batch, the reconcile timer, on every instance). A view read before a pod's
// configuration was wanted can reach a hub's status after a newer one: it must not drop that
// configuration's status (no later event may come to put it back, and its pods would show "no
// device matches the target condition" for good), neither in this instance nor, through the
// fill row all instances share, in another.
import { beforeAll, describe, expect, it } from "vitest";
import type { HubSchedulerView, ManagedConfiguration } from "../../lib/scheduler/schedulerContract.js";
import { HubStatus } from "../../lib/status/hubStatus.js";
import { StatusStore } from "../../lib/status/statusStore.js";
import { schedulerView } from "../support/schedulerViewSeed.js";
import { northConfiguration, useStatusStack } from "./support/statusStack.js";

const sensor = northConfiguration("c-sensor", "sensor");

function viewAt(hub: string, revision: number, configurations: ManagedConfiguration[]): HubSchedulerView {
  return { ...schedulerView(hub, configurations), revision };
}

describe("a scheduler view older than the one applied", { timeout: 60_000 }, () => {
  const stack = useStatusStack(["dev-1", "dev-2", "dev-3"]);
  let store: StatusStore;

  const targeted = async () =>
    (await store.fleetStatuses(stack.simulator.hubName, [sensor.id])).get(sensor.id)?.counts.targeted;
  const open = () => HubStatus.open({ hub: stack.simulator.hubName, store, hubClient: () => stack.hub });

  beforeAll(() => {
    store = StatusStore.fromConnectionString(stack.azurite.connectionString);
  });

  it("keeps the configuration's status in this instance and in another; a newer view still removes it", async () => {
    const hubName = stack.simulator.hubName;
    const first = await open();
    await first.setConfigurations(viewAt(hubName, 2, [sensor]));
    expect(await targeted()).toBe(3);

    // read before the pod was wanted, applied after: ignored
    await first.setConfigurations(viewAt(hubName, 1, []));
    expect(await targeted()).toBe(3);

    // another instance, whose last read is older still, must not rewrite the shared fill row with it
    const second = await open();
    await second.setConfigurations(viewAt(hubName, 1, []));
    expect(await targeted()).toBe(3);

    // the configuration deleted: a newer view takes it out
    await second.setConfigurations(viewAt(hubName, 3, []));
    expect(await targeted()).toBeUndefined();
  });
});
