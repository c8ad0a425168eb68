// The Functions app's deployable: the zip `func azure functionapp publish --no-build` would upload
// from a ready folder. It holds the compiled app (dist/lib, dist/functions), host.json, package.json,
// package-lock.json and the production node_modules, nothing else: no sources, no dev/ tools, no
// devDependency (TypeScript, the pinned `node` binary, Azurite, vitest ...).
import { execFile } from "node:child_process";
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { zipSync, type Zippable } from "fflate";
import { compileApp } from "./compileApp.js";

const root = path.resolve(import.meta.dirname, "../..");

/** The app's files from the repository, as they are. */
const appFiles = ["host.json", "package.json", "package-lock.json"];
/** Licence texts that must travel with the files they cover (the SchemaStore schemas tsc copies to dist/). */
const thirdPartyNotices = [
  "lib/translate/schemas/SCHEMASTORE-LICENSE.txt",
  "lib/translate/schemas/SCHEMASTORE-NOTICE.txt",
];

export interface FunctionsPackage {
  file: string;
  bytes: number;
  entries: number;
}

/** Files under dir, relative with `/`; node_modules/.bin (links to CLIs, unused at run time) left out. */
export function filesUnder(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const relative = path.relative(dir, path.join(entry.parentPath, entry.name)).split(path.sep).join("/");
    if (/(^|\/)node_modules\/\.bin(\/|$)/.test(relative)) continue;
    if (entry.isSymbolicLink())
      throw new Error(`${relative} is a symbolic link: the package carries files only`);
    if (entry.isFile()) files.push(relative);
  }
  return files.sort();
}

/** Builds the package into zipFile (its folder is created) from a fresh compile and a production install. */
export async function buildFunctionsPackage(zipFile: string): Promise<FunctionsPackage> {
  const staging = mkdtempSync(path.join(tmpdir(), "functions-package-"));
  try {
    for (const file of appFiles) copyFileSync(path.join(root, file), path.join(staging, file));
    await compileApp(path.join(staging, "dist"));
    for (const file of thirdPartyNotices)
      copyFileSync(path.join(root, file), path.join(staging, "dist", file));
    await promisify(execFile)("npm", ["ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund"], {
      cwd: staging,
    });
    const files = filesUnder(staging);
    const zippable: Zippable = {};
    for (const file of files) zippable[file] = readFileSync(path.join(staging, file));
    const zip = zipSync(zippable, { level: 6 });
    mkdirSync(path.dirname(zipFile), { recursive: true });
    writeFileSync(zipFile, zip);
    return { file: zipFile, bytes: zip.byteLength, entries: files.length };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
