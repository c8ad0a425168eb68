import { describe, expect, it } from "vitest";
import { parseRoute, pathSegments } from "../../../dev/host/httpRoutes.js";

describe("HTTP trigger route templates", () => {
  it("matches literals case-insensitively and binds parameters", () => {
    const route = parseRoute("pods/{namespace}/{name}");
    expect(route.match(pathSegments("/PODS/default/sensor"))).toEqual({
      namespace: "default",
      name: "sensor",
    });
    expect(route.match(pathSegments("/pods/default"))).toBeUndefined();
    expect(route.match(pathSegments("/pods/default/sensor/extra"))).toBeUndefined();
  });

  it("lets optional parameters be absent and catch-all parameters take the rest of the path", () => {
    expect(parseRoute("hello/{name?}").match(["hello"])).toEqual({});
    expect(parseRoute("logs/{*path}").match(pathSegments("/logs/ns/pod/container"))).toEqual({
      path: "ns/pod/container",
    });
  });

  it("checks int and guid constraints", () => {
    const route = parseRoute("items/{id:int}");
    expect(route.match(["items", "42"])).toEqual({ id: "42" });
    expect(route.match(["items", "forty-two"])).toBeUndefined();
    expect(
      parseRoute("runs/{id:guid}").match(["runs", "0f8fad5b-d9cb-469f-a165-70867728950e"]),
    ).toBeDefined();
  });

  it("decodes percent-encoded segments", () => {
    expect(parseRoute("pods/{name}").match(pathSegments("/pods/a%20b"))).toEqual({ name: "a b" });
  });

  it("refuses an unknown constraint and a catch-all that is not last, naming the route", () => {
    expect(() => parseRoute("items/{id:decimal}")).toThrow(
      'route "items/{id:decimal}": constraint "decimal" is not supported',
    );
    expect(() => parseRoute("{*rest}/tail")).toThrow(
      'route "{*rest}/tail": a catch-all parameter must be the last segment',
    );
  });
});
