// Host folders a module may bind. The container engine's sockets and state, the IoT Edge runtime's
// own folders and the kernel's interfaces give a module the device: binding one of them, a folder
// inside one, or a folder that holds one (`/var/run`, `/`) needs the `privileged` grant; `/dev`
// needs `devices`. Everything else is allowed unless the namespace lists the folders it may bind.
// Paths are compared as written, normalised: symbolic links on the device are not followed, which
// is why /var/run and /run both appear (docs/fleet-policy.md).
import { posix } from "node:path";

export const protectedHostPaths: Readonly<Record<string, string>> = {
  "/var/run/docker.sock": "the container engine's socket",
  "/run/docker.sock": "the container engine's socket",
  "/var/run/docker": "the container engine's state",
  "/run/docker": "the container engine's state",
  "/var/lib/docker": "the container engine's state",
  "/var/run/containerd": "containerd's socket",
  "/run/containerd": "containerd's socket",
  "/var/lib/containerd": "containerd's state",
  "/var/run/podman": "podman's socket",
  "/run/podman": "podman's socket",
  "/var/run/iotedge": "the IoT Edge runtime's sockets",
  "/run/iotedge": "the IoT Edge runtime's sockets",
  "/var/lib/iotedge": "the IoT Edge runtime's state",
  "/etc/iotedge": "the IoT Edge runtime's configuration",
  "/var/run/aziot": "the IoT identity service's sockets",
  "/run/aziot": "the IoT identity service's sockets",
  "/var/lib/aziot": "the IoT identity service's keys and certificates",
  "/etc/aziot": "the IoT identity service's configuration",
  "/proc": "the kernel's process interface",
  "/sys": "the kernel's device and setting interface",
};

/** Device files: binding one is what the `devices` grant allows. */
export const deviceFolder = "/dev";

/** The path normalised (`//x/../y/` → `/y`); relative paths stay relative. */
export function normalisedHostPath(path: string): string {
  const normal = posix.normalize(path);
  return normal.length > 1 ? normal.replace(/\/+$/, "") : normal;
}

const within = (path: string, folder: string) =>
  folder === "/" || path === folder || path.startsWith(`${folder}/`);

/** What a bind of this host path exposes that only `privileged` may, or undefined. */
export function protectedPathProblem(path: string): string | undefined {
  const normal = normalisedHostPath(path);
  for (const [folder, what] of Object.entries(protectedHostPaths)) {
    if (within(normal, folder)) return `binds ${normal}, ${what}`;
    if (within(folder, normal)) return `binds ${normal}, which holds ${folder} (${what})`;
  }
  return undefined;
}

/** A bind of device files (`/dev` or below, or a folder holding `/dev`). */
export function bindsDevices(path: string): boolean {
  const normal = normalisedHostPath(path);
  return within(normal, deviceFolder) || within(deviceFolder, normal);
}

/** Whether a bind stays inside one of the namespace's allowed folders. */
export function insideAllowed(path: string, allowed: readonly string[]): boolean {
  const normal = normalisedHostPath(path);
  return allowed.some((folder) => within(normal, folder));
}
