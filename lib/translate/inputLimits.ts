// Limits on what a pod brings before anything reads it: the translator and the JSON it writes
// recurse, so a deeply nested value (10 KB of `{"a":{"a":...}}` in an annotation) must be refused
// here with the field named, not found by a RangeError halfway through. Sizes follow Kubernetes'
// own limits where it has one; text is scanned, never parsed, so the scan itself cannot overflow.
import type { PodProblem } from "./podErrors.js";
import type { ResolvedReferences } from "./resolvedReferences.js";

export const inputLimits = {
  /** all annotations of the pod together (Kubernetes' own limit) */
  annotationBytes: 256 * 1024,
  /** one ConfigMap or Secret the pod refers to (Kubernetes' own limit) */
  referencedObjectBytes: 1024 * 1024,
  /** every ConfigMap and Secret the pod refers to together */
  referencedBytes: 4 * 1024 * 1024,
  /** nesting of JSON in an annotation, ConfigMap or Secret value (IoT Hub twins allow 10) */
  jsonDepth: 32,
  /** nesting of the pod object itself (a pod from the API server nests about 10 levels) */
  objectDepth: 64,
} as const;

const kib = (bytes: number) => `${Math.ceil(bytes / 1024)} KiB`;

/** The deepest nesting of `{` and `[` in JSON-like text, outside strings. */
export function textNestingDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const char = text.charCodeAt(i);
    if (inString) {
      if (char === 0x5c)
        i += 1; // backslash: skip the escaped character
      else if (char === 0x22) inString = false;
    } else if (char === 0x22) {
      inString = true;
    } else if (char === 0x7b || char === 0x5b) {
      depth += 1;
      if (depth > deepest) deepest = depth;
    } else if (char === 0x7d || char === 0x5d) {
      depth = Math.max(0, depth - 1);
    }
  }
  return deepest;
}

/** The nesting depth of a value, walked without recursion; stops counting past `limit`. */
export function objectDepth(root: unknown, limit: number = inputLimits.objectDepth): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[root, 0]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (typeof value !== "object" || value === null) continue;
    const level = depth + 1;
    if (level > deepest) deepest = level;
    if (level > limit) return level;
    for (const child of Object.values(value)) stack.push([child, level]);
  }
  return deepest;
}

function checkText(field: string, text: string, problems: PodProblem[]): void {
  const depth = textNestingDepth(text);
  if (depth > inputLimits.jsonDepth)
    problems.push({
      field,
      reason: `nests ${depth} levels deep; the connector reads at most ${inputLimits.jsonDepth}`,
    });
}

const textBytes = (values: Record<string, unknown> | undefined) =>
  Object.entries(values ?? {}).reduce(
    (sum, [key, value]) =>
      sum + Buffer.byteLength(key) + (typeof value === "string" ? Buffer.byteLength(value) : 0),
    0,
  );

type Sections = Partial<Record<"data" | "stringData" | "binaryData", Record<string, unknown>>>;

function checkReferenced(
  kind: "configmap" | "secret",
  objects: Readonly<Record<string, object | undefined>>,
  problems: PodProblem[],
): number {
  let total = 0;
  for (const [name, value] of Object.entries(objects)) {
    const object = value as Sections | undefined;
    const sections = ["data", "stringData", "binaryData"] as const;
    const bytes = sections.reduce((sum, section) => sum + textBytes(object?.[section]), 0);
    total += bytes;
    if (bytes > inputLimits.referencedObjectBytes) {
      problems.push({
        field: `${kind}/${name}`,
        reason: `holds ${kib(bytes)}; the connector reads at most ${kib(inputLimits.referencedObjectBytes)} per object`,
      });
      continue;
    }
    for (const section of ["data", "stringData"] as const) {
      for (const [key, text] of Object.entries(object?.[section] ?? {})) {
        if (typeof text !== "string") continue;
        // Secret data is base64: decode it to see the JSON a pull secret holds.
        const plain = kind === "secret" && section === "data" ? Buffer.from(text, "base64").toString() : text;
        checkText(`${kind}/${name}.${section}.${key}`, plain, problems);
      }
    }
  }
  return total;
}

/** Every limit the pod or what it refers to exceeds (empty when within all of them). */
export function checkInputLimits(pod: unknown, resolved: ResolvedReferences): PodProblem[] {
  const problems: PodProblem[] = [];
  const depth = objectDepth(pod, inputLimits.objectDepth);
  if (depth > inputLimits.objectDepth) {
    problems.push({
      field: "pod",
      reason: `nests more than ${inputLimits.objectDepth} levels deep; a Kubernetes pod nests about 10`,
    });
    return problems;
  }
  const annotations = (pod as { metadata?: { annotations?: unknown } } | undefined)?.metadata?.annotations;
  if (typeof annotations === "object" && annotations !== null) {
    const values = annotations as Record<string, unknown>;
    const bytes = textBytes(values);
    if (bytes > inputLimits.annotationBytes) {
      problems.push({
        field: "metadata.annotations",
        reason: `hold ${kib(bytes)}; Kubernetes and the connector allow ${kib(inputLimits.annotationBytes)} in all`,
      });
    } else {
      for (const [name, value] of Object.entries(values))
        if (typeof value === "string") checkText(`metadata.annotations[${name}]`, value, problems);
    }
  }
  const total =
    checkReferenced("configmap", resolved.configMaps, problems) +
    checkReferenced("secret", resolved.secrets, problems);
  if (total > inputLimits.referencedBytes) {
    problems.push({
      field: "pod",
      reason: `refers to ${kib(total)} of ConfigMaps and Secrets; the connector reads at most ${kib(inputLimits.referencedBytes)}`,
    });
  }
  return problems;
}
