// The container rules over a module's Docker create options: what each needs, what a grant or the
// namespace's lists allow, and keys in any case.
import { describe, expect, it } from "vitest";
import type { Grant } from "../../lib/policy/fleetPolicy.js";
import { createOptionsViolations, type ContainerAllowance } from "../../lib/policy/containerPrivileges.js";

const none: ContainerAllowance = { grants: new Set() };
const rules = (options: unknown, allowance: ContainerAllowance = none) =>
  createOptionsViolations(options, allowance).map((v) => `${v.path} ${v.rule}`);
const granted = (...grants: Grant[]): ContainerAllowance => ({ grants: new Set(grants) });

describe("container privileges", () => {
  it("lets a typical edge module through: ports, data folders, resources, env, baseline capabilities", () => {
    const options = {
      Env: ["A=1"],
      ExposedPorts: { "1883/tcp": {} },
      User: "0",
      HostConfig: {
        PortBindings: { "1883/tcp": [{ HostPort: "1883" }] },
        Binds: ["/srv/data:/data", "named-volume:/cache"],
        Mounts: [{ Type: "tmpfs", Target: "/tmp" }],
        Memory: 268435456,
        NanoCpus: 500000000,
        CapAdd: ["NET_BIND_SERVICE", "cap_chown"],
        CapDrop: ["ALL"],
        SecurityOpt: [
          "no-new-privileges",
          "apparmor=my-profile",
          "label=level:s0:c1",
          "label=type:container_t",
        ],
        Sysctls: { "net.ipv4.ip_unprivileged_port_start": "0" },
        LogConfig: { Type: "json-file", Config: { "max-size": "10m" } },
        ReadonlyRootfs: true,
        NetworkMode: "azure-iot-edge",
        IpcMode: "private",
      },
    };
    expect(rules(options)).toEqual([]);
  });

  it.each([
    [{ HostConfig: { Privileged: true } }, "HostConfig.Privileged privileged"],
    [{ HostConfig: { NetworkMode: "host" } }, "HostConfig.NetworkMode hostNetwork"],
    [{ HostConfig: { NetworkMode: "container:edgeHub" } }, "HostConfig.NetworkMode privileged"],
    [{ HostConfig: { PidMode: "host" } }, "HostConfig.PidMode hostPID"],
    [{ HostConfig: { IpcMode: "HOST" } }, "HostConfig.IpcMode hostIPC"],
    [{ HostConfig: { UTSMode: "host" } }, "HostConfig.UTSMode privileged"],
    [{ HostConfig: { UsernsMode: "host" } }, "HostConfig.UsernsMode privileged"],
    [{ HostConfig: { CgroupnsMode: "host" } }, "HostConfig.CgroupnsMode privileged"],
    [{ HostConfig: { CapAdd: ["SYS_ADMIN"] } }, "HostConfig.CapAdd[0] capabilities"],
    [{ HostConfig: { Devices: [{ PathOnHost: "/dev/ttyUSB0" }] } }, "HostConfig.Devices devices"],
    [{ HostConfig: { DeviceRequests: [{ Count: -1 }] } }, "HostConfig.DeviceRequests devices"],
    [{ HostConfig: { Binds: ["/dev/ttyUSB0:/dev/ttyUSB0"] } }, "HostConfig.Binds[0] devices"],
    [{ HostConfig: { Binds: ["/var/run/docker.sock:/s"] } }, "HostConfig.Binds[0] protectedHostPaths"],
    [{ HostConfig: { Binds: ["/etc:/host-etc:ro"] } }, "HostConfig.Binds[0] protectedHostPaths"],
    [{ HostConfig: { Binds: ["/srv/data:/data:rshared"] } }, "HostConfig.Binds[0] mountPropagation"],
    [
      { HostConfig: { Mounts: [{ type: "bind", source: "/proc", target: "/p" }] } },
      "HostConfig.Mounts[0] protectedHostPaths",
    ],
    [
      {
        HostConfig: {
          Mounts: [{ Type: "bind", Source: "/srv", Target: "/s", BindOptions: { Propagation: "shared" } }],
        },
      },
      "HostConfig.Mounts[0] mountPropagation",
    ],
    [{ HostConfig: { SecurityOpt: ["seccomp=unconfined"] } }, "HostConfig.SecurityOpt[0] securityOptions"],
    [{ HostConfig: { SecurityOpt: ["seccomp:{}"] } }, "HostConfig.SecurityOpt[0] securityOptions"],
    [{ HostConfig: { SecurityOpt: ["apparmor:unconfined"] } }, "HostConfig.SecurityOpt[0] securityOptions"],
    [{ HostConfig: { SecurityOpt: ["label=disable"] } }, "HostConfig.SecurityOpt[0] securityOptions"],
    [
      { HostConfig: { SecurityOpt: ["systempaths=unconfined"] } },
      "HostConfig.SecurityOpt[0] securityOptions",
    ],
    [
      { HostConfig: { Sysctls: { "kernel.core_pattern": "|/x" } } },
      "HostConfig.Sysctls[kernel.core_pattern] sysctls",
    ],
    [{ HostConfig: { CgroupParent: "/" } }, "HostConfig.CgroupParent dockerSettings"],
    [{ HostConfig: { Runtime: "runc-unsafe" } }, "HostConfig.Runtime dockerSettings"],
    [{ hostconfig: { PRIVILEGED: true } }, "HostConfig.PRIVILEGED privileged"],
    [{ HostConfig: { Privileged: false, privileged: true } }, "HostConfig.privileged dockerSettings"],
    [{ HostConfig: {}, hostConfig: { Privileged: true } }, "hostConfig dockerSettings"],
  ])("refuses %j (%s)", (options, expected) => {
    expect(rules(options)).toContain(expected);
  });

  it("lets each grant allow what it names, and nothing more", () => {
    const options = {
      HostConfig: { NetworkMode: "host", CapAdd: ["NET_ADMIN"], Devices: [{ PathOnHost: "/dev/x" }] },
    };
    expect(rules(options, granted("hostNetwork"))).toEqual([
      "HostConfig.CapAdd[0] capabilities",
      "HostConfig.Devices devices",
    ]);
    expect(rules(options, granted("hostNetwork", "capabilities", "devices"))).toEqual([]);
    expect(rules({ HostConfig: { Privileged: true, Binds: ["/:/host"] } }, granted("privileged"))).toEqual(
      [],
    );
  });

  it("keeps binds inside the namespace's host folders, and ports inside its ranges", () => {
    const allowance: ContainerAllowance = {
      grants: new Set(),
      hostPaths: ["/srv/line-1"],
      hostPorts: [{ from: 8000, to: 8099 }],
    };
    const options = {
      HostConfig: {
        Binds: ["/srv/line-1/data:/data", "/srv/line-10:/x", "/srv/line-1/../line-2:/y", "volume:/v"],
        PortBindings: {
          "80/tcp": [{ HostPort: "8080" }, { HostPort: "8090-8100" }, { HostPort: "" }],
          "1883/tcp": [{ hostport: "1883" }],
        },
      },
    };
    expect(rules(options, allowance)).toEqual([
      "HostConfig.Binds[1] hostPaths",
      "HostConfig.Binds[2] hostPaths",
      "HostConfig.PortBindings[80/tcp][1] hostPorts",
      "HostConfig.PortBindings[80/tcp][2] hostPorts",
      "HostConfig.PortBindings[1883/tcp][0] hostPorts",
    ]);
    expect(rules({ HostConfig: { PublishAllPorts: true } }, allowance)).toEqual([
      "HostConfig.PublishAllPorts hostPorts",
    ]);
    expect(rules({ HostConfig: { PublishAllPorts: true } })).toEqual([]);
  });
});
