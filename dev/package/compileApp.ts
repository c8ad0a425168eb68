// Compiles the product (lib/ and functions/, tsconfig.build.json) with the project's own Node and
// TypeScript into outDir (dist/ layout: outDir/lib, outDir/functions): a fresh tree, so nothing stale
// from an earlier `npm run build` is packaged or tested.
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";

const root = path.resolve(import.meta.dirname, "../..");

/** The project's pinned Node (devDependency `node`), not whatever `node` is on PATH. */
export const projectNode = path.join(root, "node_modules/.bin/node");

export async function compileApp(outDir: string): Promise<void> {
  await promisify(execFile)(
    projectNode,
    [path.join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json", "--outDir", outDir],
    { cwd: root },
  );
}
