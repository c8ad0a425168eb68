// The fleet policy's rules for each module of a translated pod: where its image comes from and
// what its create options ask of the device. A refusal names the pod field that asked for it:
// the original connector's ConfigMap when the setting came from there, else the pod spec field
// that the translation turned into that create option.
import type { V1Container, V1Pod } from "@kubernetes/client-node";
import { joinCreateOptions } from "../translate/createOptions.js";
import { isLegacyPod } from "../translate/legacyAnnotations.js";
import type { PodProblem } from "../translate/podErrors.js";
import type { ResolvedReferences } from "../translate/resolvedReferences.js";
import {
  createOptionsViolations,
  type ContainerAllowance,
  type PrivilegeViolation,
} from "./containerPrivileges.js";
import type { DeploymentParts } from "./deploymentParts.js";
import type { NamespacePolicy } from "./fleetPolicy.js";
import { fromAllowedRegistry, imageRepository } from "./imageRegistries.js";

/** `HostConfig.PortBindings[80/tcp][0]` → ["HostConfig", "PortBindings", "80/tcp"]. */
function pathParts(path: string): [string, string?, string?] {
  const match = /^([^.[]+)(?:\.([^.[]+))?(?:\[([^\]]+)\])?/.exec(path);
  return [match?.[1] ?? path, match?.[2], match?.[3]];
}

function keyOf(object: unknown, key: string | undefined): unknown {
  if (key === undefined || typeof object !== "object" || object === null) return undefined;
  const found = Object.keys(object).find((candidate) => candidate.toLowerCase() === key.toLowerCase());
  return found === undefined ? undefined : (object as Record<string, unknown>)[found];
}

/** The original connector's create options for a container, when it has any. */
function legacyCreateOptions(pod: V1Pod, resolved: ResolvedReferences, container: string): unknown {
  if (!isLegacyPod(pod.metadata?.annotations ?? {}) || !Object.hasOwn(resolved.configMaps, container))
    return undefined;
  const text = resolved.configMaps[container]?.data?.createOptions;
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The pod spec field a create option came from. */
function specField(
  pod: V1Pod,
  container: V1Container,
  path: string,
  options: unknown,
  violation: PrivilegeViolation,
): string {
  const [, key = "", item] = pathParts(violation.path);
  switch (key.toLowerCase()) {
    case "privileged":
      return `${path}.securityContext.privileged`;
    case "capadd":
      return `${path}.securityContext.capabilities.add`;
    case "networkmode":
      return "spec.hostNetwork";
    case "pidmode":
      return "spec.hostPID";
    case "ipcmode":
      return "spec.hostIPC";
    case "sysctls":
      return "spec.securityContext.sysctls";
    case "securityopt":
      return container.securityContext ? `${path}.securityContext` : "spec.securityContext";
    case "binds": {
      const bind = (keyOf(keyOf(options, "HostConfig"), "Binds") as unknown[] | undefined)?.[Number(item)];
      const mountPath = typeof bind === "string" ? bind.split(":")[1] : undefined;
      const mount = container.volumeMounts?.find((candidate) => candidate.mountPath === mountPath);
      const volume = pod.spec?.volumes?.findIndex((candidate) => candidate.name === mount?.name) ?? -1;
      return volume >= 0 ? `spec.volumes[${volume}].hostPath.path` : `${path}.volumeMounts`;
    }
    case "portbindings": {
      const [port = "", protocol = "tcp"] = (item ?? "").split("/");
      const index = (container.ports ?? []).findIndex(
        (candidate) =>
          String(candidate.containerPort) === port &&
          (candidate.protocol ?? "TCP").toLowerCase() === protocol,
      );
      return index >= 0 ? `${path}.ports[${index}].hostPort` : `${path}.ports`;
    }
    default:
      return path;
  }
}

function describe(violation: PrivilegeViolation, namespace: string): string {
  const rule = violation.grant
    ? `rule ${violation.rule}: namespace ${namespace} is not granted ${violation.grant}`
    : `rule ${violation.rule}`;
  return `${violation.reason} (createOptions ${violation.path}; ${rule})`;
}

/** What the namespace may not run in the deployment's modules. */
export function moduleProblems(
  pod: V1Pod,
  resolved: ResolvedReferences,
  parts: DeploymentParts,
  rule: NamespacePolicy,
  namespace: string,
): PodProblem[] {
  const problems: PodProblem[] = [];
  const allowance: ContainerAllowance = {
    grants: new Set(rule.grants),
    ...(rule.hostPaths !== undefined && { hostPaths: rule.hostPaths }),
    ...(rule.hostPorts !== undefined && { hostPorts: rule.hostPorts }),
  };
  const containers = pod.spec?.containers ?? [];
  for (const [name, module] of Object.entries(parts.modules)) {
    const index = containers.findIndex((candidate) => candidate.name === name);
    const container = containers[index];
    if (container === undefined) continue;
    const path = `spec.containers[${index}]`;
    const image = module.settings.image ?? "";
    if (rule.registries !== undefined && !fromAllowedRegistry(image, rule.registries)) {
      problems.push({
        field: `${path}.image`,
        reason: `comes from ${imageRepository(image)}, outside the registries namespace ${namespace} may use (${rule.registries.join(", ") || "none"}) (rule registries)`,
      });
    }
    const joined = joinCreateOptions(module.settings);
    const options: unknown = joined === "" ? {} : JSON.parse(joined);
    const legacy = legacyCreateOptions(pod, resolved, name);
    for (const violation of createOptionsViolations(options, allowance)) {
      const [top, key] = pathParts(violation.path);
      const fromConfigMap =
        legacy !== undefined &&
        (key === undefined ? keyOf(legacy, top) : keyOf(keyOf(legacy, top), key)) !== undefined;
      problems.push({
        field: fromConfigMap
          ? `configmap/${name}.data.createOptions`
          : specField(pod, container, path, options, violation),
        reason: describe(violation, namespace),
      });
    }
  }
  return problems;
}
