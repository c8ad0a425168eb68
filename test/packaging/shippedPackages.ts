// Which npm packages a deployable carries, judged against package-lock.json: a package the lockfile
// marks `dev` (needed only by devDependencies) must not ship, and every production package must.
import { readFileSync } from "node:fs";
import path from "node:path";

interface LockedPackage {
  dev?: boolean;
  optional?: boolean;
}

const root = path.resolve(import.meta.dirname, "../..");

/** Package folders (`node_modules/a`, `node_modules/@s/b`, `node_modules/a/node_modules/c`) holding the files. */
export function packageFoldersOf(files: string[]): Set<string> {
  const folders = new Set<string>();
  for (const file of files) {
    const folder = /^(?:node_modules\/(?:@[^/]+\/)?[^/]+\/)*node_modules\/(?:@[^/]+\/)?[^/.][^/]*(?=\/)/.exec(
      file,
    );
    if (folder) folders.add(folder[0]);
  }
  return folders;
}

export interface PackagesVersusLockfile {
  /** shipped although the lockfile says only devDependencies need them (or it does not know them) */
  notProduction: string[];
  /** production packages (not optional) the lockfile names that are not shipped */
  missing: string[];
}

export function compareWithLockfile(files: string[]): PackagesVersusLockfile {
  const lockfile = JSON.parse(readFileSync(path.join(root, "package-lock.json"), "utf8")) as {
    packages: Record<string, LockedPackage>;
  };
  const locked = Object.entries(lockfile.packages).filter(([folder]) => folder !== "");
  const shipped = packageFoldersOf(files);
  const production = new Set(locked.filter(([, entry]) => !entry.dev).map(([folder]) => folder));
  return {
    notProduction: [...shipped].filter((folder) => !production.has(folder)).sort(),
    missing: locked
      .filter(([folder, entry]) => !entry.dev && !entry.optional && !shipped.has(folder))
      .map(([folder]) => folder)
      .sort(),
  };
}
