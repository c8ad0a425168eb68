// Kubernetes resource quantities ("512Mi", "1.5Gi", "250m", "2e3") as plain numbers.
// Written here rather than taken from @kubernetes/client-node: its quantityToScalar rejects
// fractional binary quantities such as "1.5Gi", and loading that package costs most of a second.

const suffixes: Readonly<Record<string, number>> = {
  "": 1,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

const quantityPattern =
  /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(n|u|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei))?$/;

/** The value of a quantity, or undefined when the text is not a Kubernetes quantity. */
export function parseQuantity(text: string | number): number | undefined {
  if (typeof text === "number") return Number.isFinite(text) ? text : undefined;
  const match = quantityPattern.exec(text.trim());
  if (!match) return undefined;
  const [, digits = "", exponent, suffix = ""] = match;
  const multiplier = suffixes[suffix];
  if (multiplier === undefined) return undefined;
  return exponent === undefined ? Number(digits) * multiplier : Number(digits + exponent);
}
