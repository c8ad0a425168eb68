// The translation's public surface, for the Functions app, the adapter and the CLI.
export {
  podToDeployment,
  podWorkload,
  deploymentDefaults,
  edgeLimits,
  connectorLabels,
  managedByValue,
} from "./podToDeployment.js";
export type { TranslateOptions, Translation, ScopedTargetCondition } from "./podToDeployment.js";
export { PodTranslationError, formatProblem, type PodProblem, type TranslationRefusal } from "./podErrors.js";
export { checkInputLimits, inputLimits, objectDepth } from "./inputLimits.js";
export { podReferences, type PodReference } from "./podReferences.js";
export {
  configurationId,
  configurationHash,
  configurationIdPattern,
  type ConfigurationIdentity,
} from "./configurationId.js";
export { validateDeployment } from "./deploymentSchemas.js";
export { annotations, annotationPrefix } from "./annotations.js";
export { legacyAnnotations, legacyConfigMaps } from "./legacyAnnotations.js";
export { splitCreateOptions, joinCreateOptions } from "./createOptions.js";
export { parseWorkloadDocuments, type WorkloadDocuments } from "./workloadDocuments.js";
export type { ResolvedReferences, ResolvedConfigMap, ResolvedSecret } from "./resolvedReferences.js";
export type * from "./deploymentTypes.js";
