// fast-check arbitraries for device conditions and device twins over a small vocabulary, so that
// random conditions and random twins actually meet (the same properties, the same values).
import fc from "fast-check";
import type { Condition, Literal, Operand, TwinObject } from "../../lib/hub/twinQuery.js";

const paths: string[][] = [
  ["tags", "site"],
  ["tags", "owner"],
  ["tags", "line"],
  ["tags", "ring"],
  ["deviceId"],
  ["properties", "reported", "firmware"],
  ["capabilities", "iotEdge"],
];
const strings = ["a", "b", "plant-a", "1", "dev-1", "x'y", 'x"y'];

export const literal: fc.Arbitrary<Literal> = fc.oneof(
  fc.constantFrom(...strings),
  fc.integer({ min: -3, max: 3 }).map((n) => (Object.is(n, -0) ? 0 : n)),
  fc.boolean(),
  fc.constant(null),
);
const pathOperand: fc.Arbitrary<Operand> = fc
  .constantFrom(...paths)
  .map((segments) => ({ kind: "path", segments }));
const operand: fc.Arbitrary<Operand> = fc.oneof(
  { weight: 3, arbitrary: pathOperand },
  { weight: 1, arbitrary: literal.map((value): Operand => ({ kind: "literal", value })) },
);

/** Conditions of every kind the parser knows, nested a few levels. */
export const condition: fc.Arbitrary<Condition> = fc.letrec<{ condition: Condition }>((tie) => ({
  condition: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.record({
      kind: fc.constant("compare" as const),
      operator: fc.constantFrom(
        "=" as const,
        "!=" as const,
        "<" as const,
        "<=" as const,
        ">" as const,
        ">=" as const,
      ),
      left: pathOperand,
      right: operand,
    }),
    fc.record({
      kind: fc.constant("in" as const),
      operand: pathOperand,
      values: fc.array(literal, { maxLength: 3 }),
      negated: fc.boolean(),
    }),
    fc.record({
      kind: fc.constant("call" as const),
      name: fc.constant("IS_DEFINED" as const),
      args: pathOperand.map((p) => [p]),
    }),
    fc.record({
      kind: fc.constant("call" as const),
      name: fc.constantFrom("STARTSWITH" as const, "ENDSWITH" as const, "CONTAINS" as const),
      args: fc.tuple(
        pathOperand,
        literal.map((value): Operand => ({ kind: "literal", value })),
      ),
    }),
    fc.record({ kind: fc.constant("constant" as const), value: fc.boolean() }),
    fc.record({ kind: fc.constant("not" as const), operand: tie("condition") }),
    fc.record({
      kind: fc.constantFrom("and" as const, "or" as const),
      left: tie("condition"),
      right: tie("condition"),
    }),
  ),
})).condition;

const maybe = <T>(value: fc.Arbitrary<T>) => fc.option(value, { nil: undefined });

/** Device twins with or without each property of the vocabulary. */
export const twin: fc.Arbitrary<TwinObject> = fc
  .record({
    deviceId: fc.constantFrom("dev-1", "dev-2", "a"),
    site: maybe(fc.constantFrom("plant-a", "plant-b", "a")),
    owner: maybe(fc.constantFrom("a", "b", "x'y")),
    line: maybe(fc.constantFrom("1", "2", 1)),
    ring: maybe(fc.integer({ min: -3, max: 3 })),
    firmware: maybe(fc.constantFrom("1", 'x"y', "b")),
  })
  .map(({ deviceId, site, owner, line, ring, firmware }) => {
    const tags: TwinObject = {};
    if (site !== undefined) tags.site = site;
    if (owner !== undefined) tags.owner = owner;
    if (line !== undefined) tags.line = line;
    if (ring !== undefined) tags.ring = ring;
    return {
      deviceId,
      tags,
      properties: { reported: firmware === undefined ? {} : { firmware } },
      capabilities: { iotEdge: true },
    };
  });
