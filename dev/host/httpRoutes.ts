// Route templates of HTTP triggers as the Functions host understands them: literal segments
// (case-insensitive), `{name}`, optional `{name?}`, constrained `{name:int}`, and a trailing
// catch-all `{*rest}`; the default route is the function's name.

export interface RouteTemplate {
  template: string;
  match(pathSegments: string[]): Record<string, string> | undefined;
}

type Segment =
  | { kind: "literal"; text: string }
  | { kind: "param"; name: string; optional: boolean; constraint?: string }
  | { kind: "catchAll"; name: string };

const constraintChecks: Record<string, (value: string) => boolean> = {
  int: (value) => /^-?\d+$/.test(value),
  long: (value) => /^-?\d+$/.test(value),
  bool: (value) => /^(true|false)$/i.test(value),
  alpha: (value) => /^[a-z]+$/i.test(value),
  guid: (value) => /^[0-9a-f]{8}-?([0-9a-f]{4}-?){3}[0-9a-f]{12}$/i.test(value),
};

function parseSegment(text: string, template: string): Segment {
  const param = /^\{(\*)?([A-Za-z_][A-Za-z0-9_]*)(\?)?(?::([a-z]+))?\}$/.exec(text);
  if (!param) {
    if (text.includes("{") || text.includes("}")) {
      throw new Error(`route "${template}": segment "${text}" is not a literal nor a {parameter}`);
    }
    return { kind: "literal", text: text.toLowerCase() };
  }
  const [, star, name = "", question, constraint] = param;
  if (star) return { kind: "catchAll", name };
  if (constraint && !constraintChecks[constraint]) {
    throw new Error(`route "${template}": constraint "${constraint}" is not supported`);
  }
  return { kind: "param", name, optional: question === "?", constraint };
}

export function parseRoute(template: string): RouteTemplate {
  const segments = template
    .split("/")
    .filter((part) => part.length > 0)
    .map((part) => parseSegment(part, template));
  segments.forEach((segment, index) => {
    if (segment.kind === "catchAll" && index !== segments.length - 1) {
      throw new Error(`route "${template}": a catch-all parameter must be the last segment`);
    }
  });
  return {
    template,
    match(pathSegments) {
      const params: Record<string, string> = {};
      for (let index = 0; index < segments.length; index++) {
        const segment = segments[index]!;
        const value = pathSegments[index];
        if (segment.kind === "catchAll") {
          params[segment.name] = pathSegments.slice(index).join("/");
          return params;
        }
        if (value === undefined) {
          const rest = segments.slice(index);
          return rest.every((s) => s.kind === "param" && s.optional) ? params : undefined;
        }
        if (segment.kind === "literal") {
          if (value.toLowerCase() !== segment.text) return undefined;
        } else {
          if (segment.constraint && !constraintChecks[segment.constraint]!(value)) return undefined;
          params[segment.name] = value;
        }
      }
      return pathSegments.length === segments.length ? params : undefined;
    },
  };
}

/** Splits a URL path into decoded segments. */
export function pathSegments(pathname: string): string[] {
  return pathname
    .split("/")
    .filter((part) => part.length > 0)
    .map((part) => decodeURIComponent(part));
}
