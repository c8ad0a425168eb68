import { describe, expect, it } from "vitest";
import {
  evaluateTwinCondition,
  formatTwinCondition,
  parseTargetCondition,
  parseTwinCondition,
  parseTwinQuery,
  projectTwin,
  TwinQueryError,
  type TwinObject,
} from "../../lib/hub/twinQuery.js";

const berlinSensor: TwinObject = {
  deviceId: "berlin-01",
  tags: { environment: "prod", location: { city: "Berlin", floor: 3 }, ring: 2, "site-code": "BER" },
  properties: {
    desired: { $version: 4 },
    reported: { lastDesiredVersion: 4, lastDesiredStatus: { code: 200 }, firmware: "2.1.0", retired: null },
  },
  capabilities: { iotEdge: true },
  configurations: { "app-v1": { status: "Applied" } },
};

const devBox: TwinObject = {
  deviceId: "dev-box",
  tags: { environment: "dev" },
  properties: { desired: { $version: 1 }, reported: {} },
  capabilities: { iotEdge: true },
};

describe("target conditions", () => {
  const table: [condition: string, berlin: boolean, dev: boolean][] = [
    ["tags.environment = 'prod'", true, false],
    ["tags.environment='dev'", false, true],
    ['tags.environment = "prod"', true, false],
    ["tags.environment != 'prod'", false, true],
    ["tags.environment <> 'prod'", false, true],
    ["tags.location.city = 'Berlin' AND tags.location.floor >= 3", true, false],
    ["tags.location.floor > 3", false, false],
    ["tags.location.floor < 4 OR tags.environment = 'dev'", true, true],
    ["NOT tags.environment = 'prod'", false, true],
    ["NOT (tags.environment = 'prod' OR tags.environment = 'dev')", false, false],
    ["tags.ring IN [1, 2, 3]", true, false],
    ["tags.environment IN ['dev', 'test']", false, true],
    ["tags.environment NIN ['dev', 'test']", true, false],
    ["tags.environment NOT IN ['dev']", true, false],
    ["IS_DEFINED(tags.location)", true, false],
    ["NOT IS_DEFINED(tags.location)", false, true],
    ["IS_NULL(properties.reported.retired)", true, false],
    ["STARTSWITH(properties.reported.firmware, '2.')", true, false],
    ["ENDSWITH(tags.location.city, 'lin')", true, false],
    ["CONTAINS(tags.environment, 'ro')", true, false],
    ["tags.[[site-code]] = 'BER'", true, false],
    ["configurations.[[app-v1]].status = 'Applied'", true, false],
    ["capabilities.iotEdge = true", true, true],
    ["properties.desired.$version = properties.reported.lastDesiredVersion", true, false],
    ["properties.reported.lastDesiredStatus.code != 200", false, false],
    ["TAGS.environment = 'prod'", false, false],
    ["tags.environment = 'prod' and tags.ring = 2", true, false],
    ["tags.ring = '2'", false, false],
    ["tags.ring > 'a'", false, false],
    ["deviceId = 'dev-box'", false, true],
    ["true", true, true],
  ];
  it.each(table)("%s -> berlin %s, dev %s", (condition, berlin, dev) => {
    const ast = parseTwinCondition(condition);
    expect(evaluateTwinCondition(ast, berlinSensor)).toBe(berlin);
    expect(evaluateTwinCondition(ast, devBox)).toBe(dev);
  });

  it("treats a comparison with a missing property as unknown, so neither it nor its negation matches", () => {
    expect(evaluateTwinCondition(parseTwinCondition("tags.owner = 'x'"), devBox)).toBe(false);
    expect(evaluateTwinCondition(parseTwinCondition("NOT tags.owner = 'x'"), devBox)).toBe(false);
    expect(
      evaluateTwinCondition(parseTwinCondition("tags.owner = 'x' OR tags.environment = 'dev'"), devBox),
    ).toBe(true);
  });

  it.each([
    ["tags.environment = ", "Expected a property path or a value but found the end of the query"],
    ["tags.environment 'prod'", "Expected a comparison operator"],
    ["tags.environment = 'prod", "Unterminated string"],
    ["(tags.a = 1", "Expected ')'"],
    ["tags.a = 1 tags.b = 2", "Expected the end of the query"],
    ["IS_DEFINED('x')", "IS_DEFINED takes a property path"],
    ["STARTSWITH(tags.a)", "STARTSWITH takes 2 argument(s) but got 1"],
    ["tags.a IN [tags.b]", "Expected a literal value in the list"],
    ["WHERE tags.a = 1", "A target condition has no WHERE keyword"],
    ["tags.a = 1 & tags.b = 2", "Unexpected character '&'"],
  ])("refuses %j with a message naming the problem", (condition, message) => {
    expect(() => parseTwinCondition(condition)).toThrow(TwinQueryError);
    expect(() => parseTwinCondition(condition)).toThrow(message);
  });
});

describe("queries", () => {
  it("parses SELECT * FROM devices with a WHERE clause", () => {
    const query = parseTwinQuery("SELECT * FROM devices WHERE tags.environment = 'prod'");
    expect(query.select).toBe("*");
    expect(query.from).toBe("devices");
    expect(evaluateTwinCondition(query.where!, berlinSensor)).toBe(true);
    expect(projectTwin(query, berlinSensor)).toBe(berlinSensor);
  });

  it("parses custom metric queries over devices.modules and projects the selected paths", () => {
    const query = parseTwinQuery(
      "select deviceId, properties.reported.lastDesiredStatus.code as status from devices.modules where moduleId = '$edgeAgent'",
    );
    expect(query.from).toBe("devices.modules");
    expect(projectTwin(query, berlinSensor)).toEqual({ deviceId: "berlin-01", status: 200 });
    expect(evaluateTwinCondition(query.where!, { ...berlinSensor, moduleId: "$edgeAgent" })).toBe(true);
  });

  it("accepts a query without WHERE", () => {
    expect(parseTwinQuery("SELECT deviceId FROM devices").where).toBeUndefined();
  });

  it("refuses other sources", () => {
    expect(() => parseTwinQuery("SELECT * FROM jobs")).toThrow(
      "Expected 'devices' or 'devices.modules' but found 'jobs'",
    );
    expect(() => parseTwinQuery("SELECT * FROM devices.jobs")).toThrow("Expected 'modules'");
  });
});

describe("target conditions as the fleet policy builds them", () => {
  it("reads * as every device", () => {
    expect(parseTargetCondition(" * ")).toEqual({ kind: "constant", value: true });
    expect(evaluateTwinCondition(parseTargetCondition("*"), devBox)).toBe(true);
  });

  it("refuses parentheses or NOT nested more than 32 levels, before the parser recurses far", () => {
    const deep = `${"(".repeat(33)}tags.a = 1${")".repeat(33)}`;
    expect(() => parseTwinCondition(deep)).toThrow("Nested more than 32 levels deep");
    expect(() => parseTwinCondition(`${"NOT ".repeat(2000)}tags.a = 1`)).toThrow(TwinQueryError);
    expect(parseTwinCondition(`${"(".repeat(32)}tags.a = 1${")".repeat(32)}`)).toMatchObject({
      kind: "compare",
    });
  });

  it("prints a condition with every nested AND or OR in parentheses and strings without escapes", () => {
    const parsed = parseTwinCondition(
      "tags.a = 1 and (tags.b = 'x' or not tags.[[site-code]] in ['y', \"it's\"]) and IS_DEFINED(tags.c)",
    );
    expect(formatTwinCondition(parsed)).toBe(
      `tags.a = 1 AND (tags.b = 'x' OR NOT (tags.[[site-code]] IN ['y', "it's"])) AND IS_DEFINED(tags.c)`,
    );
    expect(
      formatTwinCondition({
        kind: "and",
        left: parseTwinCondition("tags.a = 1"),
        right: parseTwinCondition("tags.b = 2 AND tags.c = 3"),
      }),
    ).toBe("tags.a = 1 AND (tags.b = 2 AND tags.c = 3)");
  });

  it.each([
    ["tags.a = 'both \\' and \"'", "both ' and \""],
    ["tags.a = 'back\\\\slash'", "a backslash"],
  ])("refuses to print %j, whose string a dialect could read differently", (text, message) => {
    expect(() => formatTwinCondition(parseTwinCondition(text))).toThrow(message);
  });
});
