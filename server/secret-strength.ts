/**
 * Secrets too weak to start with: a placeholder left from .env.example (`absec_...`), one character
 * over and over, a short pattern repeated, a run over half of it (`abcdef…`, `…12345678`, bytes 0,
 * 1, 2…), too few different characters. Random secrets pass with certainty (the odds of failing are below 1 in 10^4 even
 * for 16 hex characters, the shortest token accepted). A reason never quotes the value.
 */

/** Why `text` is no secret, or undefined: shorter than `minLength`, too little variety, or patterned. */
export function weakText(text: string, minLength: number): string | undefined {
  const codes = Array.from(text, (char) => char.codePointAt(0)!);
  if (codes.length < minLength) return `shorter than ${minLength} characters`;
  // A third of the length, at most 8: random text of 16 or more characters has more.
  if (new Set(codes).size < Math.min(8, Math.ceil(codes.length / 3))) return 'too few different characters';
  if (patterned(codes, 0x110000)) return 'a repeated pattern or a run';
  return undefined;
}

/** Why a key's bytes are not random, or undefined: fewer than half of them different, or patterned. */
export function weakKey(key: Buffer): string | undefined {
  if (new Set(key).size < key.length / 2) return 'too few different bytes';
  if (patterned([...key], 256)) return 'a repeated pattern or a run';
  return undefined;
}

/**
 * Whether the steps from each value to the next (modulo `modulus`) make a pattern: one step across
 * half the values or more (a run: `aaaa…`, `abcd…`, `…12345678`), or steps that repeat with a period
 * of at most half their number (a repeated unit: `abcabc…`).
 */
function patterned(values: number[], modulus: number): boolean {
  const steps = values.slice(1).map((value, i) => (((value - values[i]) % modulus) + modulus) % modulus);
  let longest = 0;
  for (let i = 0, same = 0; i < steps.length; i++) {
    same = i > 0 && steps[i] === steps[i - 1] ? same + 1 : 1;
    longest = Math.max(longest, same);
  }
  if (longest + 1 >= values.length / 2) return true;
  for (let period = 2; period <= steps.length / 2; period++) {
    if (steps.every((step, i) => i < period || step === steps[i - period])) return true;
  }
  return false;
}
