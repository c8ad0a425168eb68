// Validates a translated configuration against the published IoT Edge deployment schemas
// (SchemaStore, copied into ./schemas). A base deployment's `$edgeAgent` and `$edgeHub` desired
// properties are validated whole, by their schemaVersion; a layered deployment's path keys
// (`properties.desired.modules.<name>`, `properties.desired.routes.<name>`,
// `properties.desired.runtime.settings.registryCredentials.<name>`) each against the matching
// definition of the same schemas.
import { Ajv, type ValidateFunction, type ErrorObject } from "ajv";
import type { EdgeConfiguration } from "./deploymentTypes.js";
import type { PodProblem } from "./podErrors.js";
import edgeAgent10 from "./schemas/azure-iot-edgeagent-deployment-1.0.json" with { type: "json" };
import edgeAgent11 from "./schemas/azure-iot-edgeagent-deployment-1.1.json" with { type: "json" };
import edgeHub10 from "./schemas/azure-iot-edgehub-deployment-1.0.json" with { type: "json" };
import edgeHub11 from "./schemas/azure-iot-edgehub-deployment-1.1.json" with { type: "json" };

type Schema = Record<string, unknown>;

/** The schemas are draft-04 (or draft-07 with `$id`); Ajv 8 takes them without `id`/`$schema`. */
function withoutIds(schema: Schema): Schema {
  const copy: Schema = { ...schema };
  delete copy.id;
  delete copy.$id;
  delete copy.$schema;
  return copy;
}

function at(schema: unknown, ...path: string[]): Schema {
  let node = schema;
  for (const key of path) node = (node as Record<string, unknown>)[key];
  return node as Schema;
}

/** A definition inside a schema, made standalone: `#/definitions/...` references still resolve. */
function part(schema: Schema, ...path: string[]): Schema {
  return { definitions: schema.definitions ?? {}, ...at(schema, ...path) };
}

const desired = "properties.desired";
const byVersion = {
  "1.0": { edgeAgent: withoutIds(edgeAgent10), edgeHub: withoutIds(edgeHub10) },
  "1.1": { edgeAgent: withoutIds(edgeAgent11), edgeHub: withoutIds(edgeHub11) },
} as const;

interface Validators {
  edgeAgent: ValidateFunction;
  edgeHub: ValidateFunction;
  module: ValidateFunction;
  route: ValidateFunction;
  credential: ValidateFunction;
  /** the schemas' name patterns for modules, routes and credentials */
  names: Record<"module" | "route" | "credential", RegExp>;
}

let compiled: Record<"1.0" | "1.1", Validators> | undefined;

function validators(version: "1.0" | "1.1"): Validators {
  if (!compiled) {
    // strict: false — the schemas use annotations Ajv does not know (contentMediaType, examples).
    const ajv = new Ajv({ strict: false, allErrors: true });
    const build = (v: "1.0" | "1.1"): Validators => {
      const { edgeAgent, edgeHub } = byVersion[v];
      const agentDesired = ["properties", "$edgeAgent", "properties", desired, "properties"];
      const hubDesired = ["properties", "$edgeHub", "properties", desired, "properties"];
      const modulePattern =
        Object.keys(at(edgeAgent, ...agentDesired, "modules", "patternProperties"))[0] ?? "";
      const routePattern = Object.keys(at(edgeHub, ...hubDesired, "routes", "patternProperties"))[0] ?? "";
      const credentials = at(
        edgeAgent,
        ...agentDesired,
        "runtime",
        "properties",
        "settings",
        "properties",
        "registryCredentials",
      );
      const credentialPattern = Object.keys(at(credentials, "patternProperties"))[0] ?? "";
      return {
        edgeAgent: ajv.compile(edgeAgent),
        edgeHub: ajv.compile(edgeHub),
        module: ajv.compile(part(edgeAgent, ...agentDesired, "modules", "patternProperties", modulePattern)),
        route: ajv.compile(part(edgeHub, ...hubDesired, "routes", "patternProperties", routePattern)),
        credential: ajv.compile(part(credentials, "patternProperties", credentialPattern)),
        names: {
          module: new RegExp(modulePattern),
          route: new RegExp(routePattern),
          credential: new RegExp(credentialPattern),
        },
      };
    };
    compiled = { "1.0": build("1.0"), "1.1": build("1.1") };
  }
  return compiled[version];
}

function problems(base: string, errors: ErrorObject[] | null | undefined): PodProblem[] {
  return (errors ?? []).map((error) => ({
    field: `${base}${error.instancePath.replaceAll("/", ".")}`,
    reason: `${error.message ?? "is invalid"}${error.params && "additionalProperty" in error.params ? ` (${String(error.params.additionalProperty)})` : ""} (IoT Edge deployment schema)`,
  }));
}

function check(validate: ValidateFunction, value: unknown, field: string): PodProblem[] {
  return validate(value) ? [] : problems(field, validate.errors);
}

const layeredPaths = [
  { prefix: `${desired}.modules.`, validator: "module" },
  { prefix: `${desired}.routes.`, validator: "route" },
  { prefix: `${desired}.runtime.settings.registryCredentials.`, validator: "credential" },
] as const;

/** Every way the configuration departs from the IoT Edge deployment schemas; empty when valid. */
export function validateDeployment(configuration: EdgeConfiguration): PodProblem[] {
  const content = configuration.content.modulesContent;
  const agent = content.$edgeAgent ?? {};
  const field = "content.modulesContent";
  if (desired in agent) {
    const version = (agent[desired] as { schemaVersion?: string }).schemaVersion === "1.0" ? "1.0" : "1.1";
    const { edgeAgent, edgeHub } = validators(version);
    return [
      ...check(edgeAgent, { $edgeAgent: agent }, field),
      ...check(edgeHub, { $edgeHub: content.$edgeHub }, field),
    ];
  }
  const found: PodProblem[] = [];
  const v = validators("1.1");
  for (const [system, entries] of [
    ["$edgeAgent", agent],
    ["$edgeHub", content.$edgeHub ?? {}],
  ] as const) {
    for (const [key, value] of Object.entries(entries)) {
      const path = layeredPaths.find((candidate) => key.startsWith(candidate.prefix));
      const keyField = `${field}.${system}[${key}]`;
      if (!path || key.length === path.prefix.length) {
        found.push({ field: keyField, reason: "not a path a layered deployment may set" });
      } else if (!v.names[path.validator].test(key.slice(path.prefix.length))) {
        found.push({
          field: keyField,
          reason: `the ${path.validator} name does not match ${v.names[path.validator].source}`,
        });
      } else {
        found.push(...check(v[path.validator], value, keyField));
      }
    }
  }
  return found;
}
