/** A bench option's whole number in 1..max, or an error that names the option. */
export function wholeNumber(name: string, text: string, max: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > max)
    throw new Error(`--${name} must be 1..${max}, got "${text}"`);
  return value;
}
