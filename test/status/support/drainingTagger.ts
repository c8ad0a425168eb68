// Run by rolloutBucketTagger.test.ts as a process of its own: queues the bucket tags of the devices
// named in its arguments, two writes a round, against the hub in IOTHUB_CONNECTION_STRING, and then
// has nothing else to do. A queue still draining must not keep it from exiting.
import { createHubClient } from "../../../lib/hub/createHubClient.js";
import { RolloutBucketTagger } from "../../../lib/status/rolloutBucketTagger.js";

const hub = createHubClient(process.env.IOTHUB_CONNECTION_STRING!);
const tagger = new RolloutBucketTagger(
  () => hub,
  (message) => console.error(message),
  { writesPerRound: 2 },
);
tagger.enqueue(process.argv.slice(2).map((deviceId) => ({ deviceId, tags: {}, twinVersion: 1 })));
