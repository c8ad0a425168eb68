import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Creates the simulator's local CA and sets NODE_EXTRA_CA_CERTS for the forked workers.
    globalSetup: ["test/globalSetup.ts"],
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 120_000,
    reporters: ["default"],
  },
});
