// JSON larger than one Azure Table property: a property holds at most 64 KiB (32K UTF-16
// characters) and an entity at most 1 MiB, so a value is written as the string properties
// json0, json1, ... of one entity, and a list too large for one entity as several entities.
export const MAX_PROPERTY_CHARS = 30_000;
/** 15 properties of 30,000 characters: about 900 KB of UTF-16, under the entity's 1 MiB with keys. */
export const MAX_ENTITY_CHARS = 15 * MAX_PROPERTY_CHARS;

export type JsonProperties = Record<`json${number}`, string>;

export function jsonProperties(value: unknown): JsonProperties {
  const text = JSON.stringify(value);
  if (text.length > MAX_ENTITY_CHARS)
    throw new RangeError(`a value of ${text.length} JSON characters does not fit one table entity`);
  const properties: JsonProperties = {};
  for (let index = 0; index * MAX_PROPERTY_CHARS < text.length || index === 0; index += 1)
    properties[`json${index}`] = text.slice(index * MAX_PROPERTY_CHARS, (index + 1) * MAX_PROPERTY_CHARS);
  return properties;
}

export function fromJsonProperties<T>(entity: Record<string, unknown>): T {
  let text = "";
  for (let index = 0; typeof entity[`json${index}`] === "string"; index += 1)
    text += entity[`json${index}`] as string;
  return JSON.parse(text) as T;
}

/** Splits a list into parts whose JSON each fits one entity (an empty list gives one empty part). */
export function entitySizedParts<T>(items: readonly T[]): T[][] {
  const parts: T[][] = [[]];
  let size = 2;
  for (const item of items) {
    const length = JSON.stringify(item).length + 1;
    if (length + 2 > MAX_ENTITY_CHARS) throw new RangeError("one item does not fit one table entity");
    if (size + length > MAX_ENTITY_CHARS) {
      parts.push([]);
      size = 2;
    }
    parts.at(-1)!.push(item);
    size += length;
  }
  return parts;
}
