// The subset of the IoT Hub query language that deployments and their metrics use: target conditions
// (`tags.environment = 'dev' AND NOT IS_DEFINED(tags.retired)`) and queries over device and module twins
// (`SELECT deviceId FROM devices.modules WHERE moduleId = '$edgeAgent' AND ...`). A condition is parsed once
// into an AST (a tokenizer and a recursive descent parser) and then evaluated against any number of twins;
// the simulator and the app's local target evaluation share it.
import { isDeepStrictEqual } from "node:util";

export type TwinValue = string | number | boolean | null | TwinObject | TwinValue[];
export interface TwinObject {
  [key: string]: TwinValue | undefined;
}

export type Operand = { kind: "path"; segments: string[] } | { kind: "literal"; value: Literal };
export type Literal = string | number | boolean | null;
export type ComparisonOperator = "=" | "!=" | "<" | "<=" | ">" | ">=";
export type PredicateFunction = "IS_DEFINED" | "IS_NULL" | "STARTSWITH" | "ENDSWITH" | "CONTAINS";

export type Condition =
  | { kind: "and" | "or"; left: Condition; right: Condition }
  | { kind: "not"; operand: Condition }
  | { kind: "compare"; operator: ComparisonOperator; left: Operand; right: Operand }
  | { kind: "in"; operand: Operand; values: Literal[]; negated: boolean }
  | { kind: "call"; name: PredicateFunction; args: Operand[] }
  | { kind: "constant"; value: boolean };

export interface TwinQuery {
  /** `*` or the projected paths, e.g. `deviceId`, `properties.reported.lastDesiredStatus`. */
  select: "*" | { segments: string[]; alias: string }[];
  from: "devices" | "devices.modules";
  where?: Condition;
}

/** A query or condition that cannot be parsed; `position` is the 0-based character offset. */
export class TwinQueryError extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(message);
    this.name = "TwinQueryError";
  }
}

// ---------------------------------------------------------------------------------------------- tokens

type Token =
  | { type: "identifier"; text: string; position: number; bracketed: boolean }
  | { type: "string"; value: string; position: number }
  | { type: "number"; value: number; position: number }
  | { type: "symbol"; text: string; position: number }
  | { type: "end"; position: number };

const SYMBOLS = ["<=", ">=", "!=", "<>", "=", "<", ">", "(", ")", "[", "]", ",", ".", "*"];

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const char = text[i] as string;
    if (/\s/.test(char)) {
      i += 1;
    } else if (text.startsWith("[[", i)) {
      // [[any text]] names a property whose key is not a plain identifier (configuration ids, dashes).
      const close = text.indexOf("]]", i + 2);
      if (close < 0) throw new TwinQueryError(`Unterminated '[[' at position ${i}`, i);
      tokens.push({ type: "identifier", text: text.slice(i + 2, close), position: i, bracketed: true });
      i = close + 2;
    } else if (char === "'" || char === '"') {
      const start = i;
      let value = "";
      i += 1;
      for (;;) {
        if (i >= text.length) throw new TwinQueryError(`Unterminated string at position ${start}`, start);
        const c = text[i] as string;
        if (c === "\\" && i + 1 < text.length) {
          value += text[i + 1];
          i += 2;
        } else if (c === char && text[i + 1] === char) {
          value += char;
          i += 2;
        } else if (c === char) {
          i += 1;
          break;
        } else {
          value += c;
          i += 1;
        }
      }
      tokens.push({ type: "string", value, position: start });
    } else if (/[0-9]/.test(char) || (char === "-" && /[0-9.]/.test(text[i + 1] ?? ""))) {
      const match = /^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/.exec(text.slice(i));
      if (!match) throw new TwinQueryError(`Malformed number at position ${i}`, i);
      tokens.push({ type: "number", value: Number(match[0]), position: i });
      i += match[0].length;
    } else if (/[A-Za-z_$@#]/.test(char)) {
      const match = /^[A-Za-z_$@#][A-Za-z0-9_$@#-]*/.exec(text.slice(i)) as RegExpExecArray;
      tokens.push({ type: "identifier", text: match[0], position: i, bracketed: false });
      i += match[0].length;
    } else {
      const symbol = SYMBOLS.find((s) => text.startsWith(s, i));
      if (!symbol) throw new TwinQueryError(`Unexpected character '${char}' at position ${i}`, i);
      tokens.push({ type: "symbol", text: symbol === "<>" ? "!=" : symbol, position: i });
      i += symbol.length;
    }
  }
  tokens.push({ type: "end", position: text.length });
  return tokens;
}

// ---------------------------------------------------------------------------------------------- parser

const KEYWORDS = new Set([
  "SELECT",
  "FROM",
  "WHERE",
  "AND",
  "OR",
  "NOT",
  "IN",
  "NIN",
  "AS",
  "TRUE",
  "FALSE",
  "NULL",
]);
const PREDICATES = new Set<string>(["IS_DEFINED", "IS_NULL", "STARTSWITH", "ENDSWITH", "CONTAINS"]);
const COMPARISONS = new Set<string>(["=", "!=", "<", "<=", ">", ">="]);

/** Nesting deeper than this (parentheses, NOT) is refused: the parser and the evaluator recurse. */
export const maxConditionDepth = 32;

class Parser {
  private index = 0;
  private depth = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly text: string,
  ) {}

  private peek(): Token {
    return this.tokens[this.index] as Token;
  }

  private next(): Token {
    const token = this.peek();
    if (token.type !== "end") this.index += 1;
    return token;
  }

  private describe(token: Token): string {
    if (token.type === "end") return "the end of the query";
    if (token.type === "identifier" || token.type === "symbol") return `'${token.text}'`;
    if (token.type === "string") return `'${token.value}'`;
    return String(token.value);
  }

  private fail(expected: string, token = this.peek()): never {
    throw new TwinQueryError(
      `Expected ${expected} but found ${this.describe(token)} at position ${token.position} in "${this.text}"`,
      token.position,
    );
  }

  isKeyword(word: string, token = this.peek()): boolean {
    return token.type === "identifier" && !token.bracketed && token.text.toUpperCase() === word;
  }

  private acceptKeyword(word: string): boolean {
    if (!this.isKeyword(word)) return false;
    this.index += 1;
    return true;
  }

  private expectKeyword(word: string): void {
    if (!this.acceptKeyword(word)) this.fail(word);
  }

  private acceptSymbol(symbol: string): boolean {
    const token = this.peek();
    if (token.type !== "symbol" || token.text !== symbol) return false;
    this.index += 1;
    return true;
  }

  private expectSymbol(symbol: string): void {
    if (!this.acceptSymbol(symbol)) this.fail(`'${symbol}'`);
  }

  expectEnd(): void {
    if (this.peek().type !== "end") this.fail("the end of the query");
  }

  query(): TwinQuery {
    this.expectKeyword("SELECT");
    const select = this.acceptSymbol("*") ? ("*" as const) : this.projections();
    this.expectKeyword("FROM");
    const from = this.fromClause();
    const where = this.acceptKeyword("WHERE") ? this.condition() : undefined;
    this.expectEnd();
    return where ? { select, from, where } : { select, from };
  }

  private projections(): { segments: string[]; alias: string }[] {
    const result: { segments: string[]; alias: string }[] = [];
    do {
      const segments = this.path();
      let alias = segments[segments.length - 1] as string;
      if (this.acceptKeyword("AS")) alias = this.identifier("an alias");
      result.push({ segments, alias });
    } while (this.acceptSymbol(","));
    return result;
  }

  private fromClause(): TwinQuery["from"] {
    const first = this.identifier("'devices' or 'devices.modules'");
    if (first.toLowerCase() !== "devices")
      this.fail("'devices' or 'devices.modules'", this.tokens[this.index - 1]);
    if (!this.acceptSymbol(".")) return "devices";
    const second = this.identifier("'modules'");
    if (second.toLowerCase() !== "modules") this.fail("'modules'", this.tokens[this.index - 1]);
    return "devices.modules";
  }

  private identifier(expected: string): string {
    const token = this.next();
    if (token.type !== "identifier") this.fail(expected, token);
    return token.text;
  }

  condition(): Condition {
    let left = this.conjunction();
    while (this.acceptKeyword("OR")) left = { kind: "or", left, right: this.conjunction() };
    return left;
  }

  private conjunction(): Condition {
    let left = this.negation();
    while (this.acceptKeyword("AND")) left = { kind: "and", left, right: this.negation() };
    return left;
  }

  private negation(): Condition {
    if (this.acceptKeyword("NOT")) return { kind: "not", operand: this.nested(() => this.negation()) };
    return this.primary();
  }

  private nested(parse: () => Condition): Condition {
    if (this.depth >= maxConditionDepth) {
      const position = this.peek().position;
      throw new TwinQueryError(
        `Nested more than ${maxConditionDepth} levels deep at position ${position}`,
        position,
      );
    }
    this.depth += 1;
    const inner = parse();
    this.depth -= 1;
    return inner;
  }

  private primary(): Condition {
    if (this.acceptSymbol("(")) {
      const inner = this.nested(() => this.condition());
      this.expectSymbol(")");
      return inner;
    }
    const token = this.peek();
    const next = this.tokens[this.index + 1];
    if (
      token.type === "identifier" &&
      !token.bracketed &&
      PREDICATES.has(token.text.toUpperCase()) &&
      next?.type === "symbol" &&
      next.text === "("
    ) {
      return this.call();
    }
    const left = this.operand();
    if (left.kind === "literal" && typeof left.value === "boolean" && this.atConditionEnd()) {
      return { kind: "constant", value: left.value };
    }
    if (this.acceptKeyword("IN"))
      return { kind: "in", operand: left, values: this.literalList(), negated: false };
    if (
      this.acceptKeyword("NIN") ||
      (this.isKeyword("NOT") && this.isKeyword("IN", this.tokens[this.index + 1]))
    ) {
      this.acceptKeyword("NOT");
      this.acceptKeyword("IN");
      return { kind: "in", operand: left, values: this.literalList(), negated: true };
    }
    const operatorToken = this.next();
    if (operatorToken.type !== "symbol" || !COMPARISONS.has(operatorToken.text)) {
      this.fail("a comparison operator (=, !=, <>, <, <=, >, >=), IN or NIN", operatorToken);
    }
    return {
      kind: "compare",
      operator: operatorToken.text as ComparisonOperator,
      left,
      right: this.operand(),
    };
  }

  private atConditionEnd(): boolean {
    const token = this.peek();
    return (
      token.type === "end" ||
      (token.type === "symbol" && token.text === ")") ||
      this.isKeyword("AND") ||
      this.isKeyword("OR")
    );
  }

  private call(): Condition {
    const name = this.identifier("a function").toUpperCase() as PredicateFunction;
    this.expectSymbol("(");
    const args: Operand[] = [];
    if (!this.acceptSymbol(")")) {
      do args.push(this.operand());
      while (this.acceptSymbol(","));
      this.expectSymbol(")");
    }
    const arity = name === "IS_DEFINED" || name === "IS_NULL" ? 1 : 2;
    if (args.length !== arity) {
      throw new TwinQueryError(
        `${name} takes ${arity} argument(s) but got ${args.length} in "${this.text}"`,
        0,
      );
    }
    if ((name === "IS_DEFINED" || name === "IS_NULL") && args[0]?.kind !== "path") {
      throw new TwinQueryError(`${name} takes a property path in "${this.text}"`, 0);
    }
    return { kind: "call", name, args };
  }

  private literalList(): Literal[] {
    const open = this.acceptSymbol("[")
      ? "]"
      : this.acceptSymbol("(")
        ? ")"
        : this.fail("'[' to start a list");
    const values: Literal[] = [];
    if (!this.acceptSymbol(open)) {
      do {
        const operand = this.operand();
        if (operand.kind !== "literal") this.fail("a literal value in the list");
        values.push(operand.value);
      } while (this.acceptSymbol(","));
      this.expectSymbol(open);
    }
    return values;
  }

  private operand(): Operand {
    const token = this.peek();
    if (token.type === "string" || token.type === "number") {
      this.index += 1;
      return { kind: "literal", value: token.value };
    }
    if (this.isKeyword("TRUE") || this.isKeyword("FALSE") || this.isKeyword("NULL")) {
      const word = (this.next() as { text: string }).text.toUpperCase();
      return { kind: "literal", value: word === "NULL" ? null : word === "TRUE" };
    }
    return { kind: "path", segments: this.path() };
  }

  private path(): string[] {
    const token = this.next();
    if (token.type !== "identifier" || (!token.bracketed && KEYWORDS.has(token.text.toUpperCase()))) {
      this.fail("a property path or a value", token);
    }
    const segments = [token.text];
    while (this.acceptSymbol(".")) segments.push(this.identifier("a property name after '.'"));
    return segments;
  }
}

/** Parses a target condition (the WHERE part alone), e.g. `tags.environment = 'dev' AND tags.ring IN [1, 2]`. */
export function parseTwinCondition(condition: string): Condition {
  const parser = new Parser(tokenize(condition), condition);
  if (parser.isKeyword("WHERE")) {
    throw new TwinQueryError(`A target condition has no WHERE keyword: "${condition}"`, 0);
  }
  const ast = parser.condition();
  parser.expectEnd();
  return ast;
}

/** Parses a deployment's target condition: a condition, or `*` for every device. */
export function parseTargetCondition(targetCondition: string): Condition {
  const trimmed = targetCondition.trim();
  return trimmed === "*" ? { kind: "constant", value: true } : parseTwinCondition(trimmed);
}

/** Parses a full query: `SELECT * | paths FROM devices | devices.modules [WHERE condition]`. */
export function parseTwinQuery(query: string): TwinQuery {
  return new Parser(tokenize(query), query).query();
}

// -------------------------------------------------------------------------------------------- printing

const PLAIN_SEGMENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function formatSegment(segment: string, first: boolean): string {
  if (PLAIN_SEGMENT.test(segment) && !(first && KEYWORDS.has(segment.toUpperCase()))) return segment;
  if (segment.includes("]]") || /[\r\n]/.test(segment))
    throw new TwinQueryError(`The property name "${segment}" cannot be written in a condition`, 0);
  return `[[${segment}]]`;
}

/** A string literal in quotes that no dialect can read differently: no backslash, no quote to escape. */
function formatString(value: string): string {
  if (value.includes("\\") || /[\r\n]/.test(value))
    throw new TwinQueryError("A string in a condition may not contain a backslash or a line break", 0);
  if (!value.includes("'")) return `'${value}'`;
  if (!value.includes('"')) return `"${value}"`;
  throw new TwinQueryError("A string in a condition may not contain both ' and \"", 0);
}

function formatLiteral(value: Literal): string {
  if (typeof value === "string") return formatString(value);
  if (value === null) return "null";
  return String(value);
}

function formatOperand(operand: Operand): string {
  return operand.kind === "literal"
    ? formatLiteral(operand.value)
    : operand.segments.map((segment, index) => formatSegment(segment, index === 0)).join(".");
}

const isBinary = (condition: Condition) => condition.kind === "and" || condition.kind === "or";

/**
 * A condition as text that parses back to the same tree. Parentheses do not rely on precedence: a
 * nested AND or OR is always parenthesised, except the left operand of a chain of the same operator;
 * NOT always parenthesises its operand. Strings are quoted without escapes, or refused.
 */
export function formatTwinCondition(condition: Condition): string {
  switch (condition.kind) {
    case "constant":
      return String(condition.value);
    case "and":
    case "or": {
      const operator = condition.kind.toUpperCase();
      const left = formatTwinCondition(condition.left);
      const right = formatTwinCondition(condition.right);
      const leftText =
        isBinary(condition.left) && condition.left.kind !== condition.kind ? `(${left})` : left;
      const rightText = isBinary(condition.right) ? `(${right})` : right;
      return `${leftText} ${operator} ${rightText}`;
    }
    case "not":
      return `NOT (${formatTwinCondition(condition.operand)})`;
    case "compare":
      return `${formatOperand(condition.left)} ${condition.operator} ${formatOperand(condition.right)}`;
    case "in":
      return `${formatOperand(condition.operand)} ${condition.negated ? "NIN" : "IN"} [${condition.values
        .map(formatLiteral)
        .join(", ")}]`;
    case "call":
      return `${condition.name}(${condition.args.map(formatOperand).join(", ")})`;
  }
}

// ------------------------------------------------------------------------------------------ evaluation

/** Reads a path from a twin; `undefined` when any segment is missing. */
export function readTwinPath(twin: TwinObject, segments: readonly string[]): TwinValue | undefined {
  let current: TwinValue | undefined = twin;
  for (const segment of segments) {
    if (current === null || typeof current !== "object" || Array.isArray(current)) return undefined;
    current = current[segment];
  }
  return current;
}

function operandValue(operand: Operand, twin: TwinObject): TwinValue | undefined {
  return operand.kind === "literal" ? operand.value : readTwinPath(twin, operand.segments);
}

/** Three-valued logic as in the hub's SQL dialect: comparisons with a missing property are undefined. */
type Truth = boolean | undefined;

function compare(
  operator: ComparisonOperator,
  left: TwinValue | undefined,
  right: TwinValue | undefined,
): Truth {
  if (left === undefined || right === undefined) return undefined;
  if (operator === "=" || operator === "!=") {
    // Primitives compare directly (the common case, and hot in metrics); objects and arrays structurally.
    const equal =
      typeof left === "object" && left !== null && typeof right === "object" && right !== null
        ? isDeepStrictEqual(left, right)
        : left === right;
    return operator === "=" ? equal : !equal;
  }
  const bothNumbers = typeof left === "number" && typeof right === "number";
  const bothStrings = typeof left === "string" && typeof right === "string";
  if (!bothNumbers && !bothStrings) return undefined;
  switch (operator) {
    case "<":
      return left < right;
    case "<=":
      return left <= right;
    case ">":
      return left > right;
    case ">=":
      return left >= right;
  }
}

function callPredicate(name: PredicateFunction, args: (TwinValue | undefined)[]): Truth {
  const [first, second] = args;
  switch (name) {
    case "IS_DEFINED":
      return first !== undefined;
    case "IS_NULL":
      return first === undefined ? undefined : first === null;
    default:
      if (typeof first !== "string" || typeof second !== "string") return undefined;
      if (name === "STARTSWITH") return first.startsWith(second);
      if (name === "ENDSWITH") return first.endsWith(second);
      return first.includes(second);
  }
}

function truth(condition: Condition, twin: TwinObject): Truth {
  switch (condition.kind) {
    case "constant":
      return condition.value;
    case "and": {
      const left = truth(condition.left, twin);
      if (left === false) return false;
      const right = truth(condition.right, twin);
      if (right === false) return false;
      return left === true && right === true ? true : undefined;
    }
    case "or": {
      const left = truth(condition.left, twin);
      if (left === true) return true;
      const right = truth(condition.right, twin);
      if (right === true) return true;
      return left === false && right === false ? false : undefined;
    }
    case "not": {
      const inner = truth(condition.operand, twin);
      return inner === undefined ? undefined : !inner;
    }
    case "compare":
      return compare(
        condition.operator,
        operandValue(condition.left, twin),
        operandValue(condition.right, twin),
      );
    case "in": {
      const value = operandValue(condition.operand, twin);
      if (value === undefined) return undefined;
      const found = condition.values.some((candidate) => compare("=", value, candidate) === true);
      return condition.negated ? !found : found;
    }
    case "call":
      return callPredicate(
        condition.name,
        condition.args.map((arg) => operandValue(arg, twin)),
      );
  }
}

/** True when the twin satisfies the condition; missing properties never match (as on the hub). */
export function evaluateTwinCondition(condition: Condition, twin: TwinObject): boolean {
  return truth(condition, twin) === true;
}

/** Projects a matching twin to the query's SELECT list (`*` returns the twin itself). */
export function projectTwin(query: TwinQuery, twin: TwinObject): TwinObject {
  if (query.select === "*") return twin;
  const row: TwinObject = {};
  for (const { segments, alias } of query.select) {
    const value = readTwinPath(twin, segments);
    if (value !== undefined) row[alias] = value;
  }
  return row;
}
