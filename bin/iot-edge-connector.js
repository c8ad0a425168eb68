#!/usr/bin/env node
// Command-line entry; the implementation is compiled from lib/cli (run `npm run build` first).
import { main } from "../dist/lib/cli/main.js";

process.exitCode = await main(process.argv.slice(2));
