// Azurite for tests: the app's own starter (lib/app/localAzurite.ts, also behind `npm start`) —
// loopback, free ports, data in a temp directory removed at stop — under the names tests use.
export { startLocalAzurite as startAzurite, type LocalAzurite as Azurite } from "../../dev/localAzurite.js";
