// `npm run package:functions`: writes .cache/package/functions.zip, the Functions app as deployed
// (`az functionapp deployment source config-zip --src .cache/package/functions.zip ...`).
import path from "node:path";
import { buildFunctionsPackage } from "./functionsPackage.js";

const zipFile = path.resolve(import.meta.dirname, "../../.cache/package/functions.zip");
const started = Date.now();
const built = await buildFunctionsPackage(zipFile);
const megabytes = (built.bytes / 1024 / 1024).toFixed(1);
process.stdout.write(
  `${path.relative(process.cwd(), built.file)}: ${megabytes} MB, ${built.entries} files ` +
    `(${((Date.now() - started) / 1000).toFixed(0)} s)\n`,
);
