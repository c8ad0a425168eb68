// The createOptions encoding of IoT Edge module settings: Docker create options as a JSON string,
// cut into `createOptions`, `createOptions01`, `createOptions02`, ... because a twin property
// value holds at most 512 characters; edgeAgent joins the parts in name order.

/** IoT Edge's limit on one createOptions property value, in characters. */
export const createOptionsPartLength = 512;
/** edgeAgent reads `createOptions` plus at most 99 numbered parts. */
export const maxCreateOptionsParts = 100;

export function createOptionsPartName(index: number): string {
  return index === 0 ? "createOptions" : `createOptions${String(index).padStart(2, "0")}`;
}

/** Cuts a createOptions JSON string into named parts, none longer than the limit and none ending
 * inside a UTF-16 surrogate pair, so every part is valid text on its own. */
export function splitCreateOptions(json: string): Record<string, string> {
  const parts: Record<string, string> = {};
  let start = 0;
  let index = 0;
  while (start < json.length) {
    let end = Math.min(start + createOptionsPartLength, json.length);
    const last = json.charCodeAt(end - 1);
    if (end < json.length && last >= 0xd800 && last <= 0xdbff) end -= 1;
    parts[createOptionsPartName(index)] = json.slice(start, end);
    start = end;
    index += 1;
  }
  return parts;
}

/** Joins the parts of module settings back into the createOptions JSON string. */
export function joinCreateOptions(settings: Readonly<Record<string, unknown>>): string {
  let json = "";
  for (let index = 0; index < maxCreateOptionsParts; index += 1) {
    const part = settings[createOptionsPartName(index)];
    if (typeof part !== "string") break;
    json += part;
  }
  return json;
}
