// docs/translation.md is the translation reference: it must name every pod field the
// translator maps, ignores or refuses, and every annotation, in both spellings.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { annotations } from "../../lib/translate/annotations.js";
import { legacyAnnotations, legacyConfigMaps } from "../../lib/translate/legacyAnnotations.js";
import { securityFields } from "../../lib/translate/dockerCreateOptions.js";
import { containerFields, podSpecFields } from "../../lib/translate/podFields.js";

const docs = readFileSync(join(import.meta.dirname, "../../docs/translation.md"), "utf8");

describe("the translation reference (docs/translation.md)", () => {
  it.each(Object.keys(podSpecFields))("documents spec.%s", (field) => {
    expect(docs).toContain(`\`${field}\``);
  });

  it.each(Object.keys(containerFields))("documents container field %s", (field) => {
    expect(docs).toContain(`\`${field}\``);
  });

  it.each(Object.keys(securityFields))("documents security context field %s", (field) => {
    expect(docs).toContain(`\`${field}\``);
  });

  it.each([
    ...Object.values(annotations),
    ...Object.values(legacyAnnotations),
    ...Object.values(legacyConfigMaps),
  ])("documents the annotation or ConfigMap %s", (name) => {
    expect(docs).toContain(name);
  });
});
