// What a translation finds wrong with a pod: problems that refuse it and fields it ignores.
// Every finding names the pod field (a path such as `spec.containers[0].ports[1].hostIP`) and the
// reason, so a user can fix the manifest without reading this code. Values never appear in a
// reason: they may be secrets.

/** One finding about a pod: the field it concerns and why. */
export interface PodProblem {
  readonly field: string;
  readonly reason: string;
}

export function formatProblem(problem: PodProblem): string {
  return `${problem.field}: ${problem.reason}`;
}

/** Why a translation refused a pod: what it asks IoT Edge cannot do, or it is too large to read. */
export type TranslationRefusal = "UnsupportedPod" | "InputTooLarge";

/** A pod IoT Edge cannot honour, with every problem found in it at once. */
export class PodTranslationError extends Error {
  readonly problems: readonly PodProblem[];

  constructor(
    problems: readonly PodProblem[],
    subject = "pod",
    readonly reason: TranslationRefusal = "UnsupportedPod",
  ) {
    super(`${subject} cannot be deployed to IoT Edge: ${problems.map(formatProblem).join("; ")}`);
    this.name = "PodTranslationError";
    this.problems = problems;
  }
}

/** Collects refusals and warnings while a pod is translated, so that all are reported together. */
export class Findings {
  readonly problems: PodProblem[] = [];
  readonly warnings: PodProblem[] = [];

  refuse(field: string, reason: string): void {
    this.problems.push({ field, reason });
  }

  warn(field: string, reason: string): void {
    this.warnings.push({ field, reason });
  }
}
