/**
 * Parser for Stripe-style form encoding (`application/x-www-form-urlencoded` with bracket
 * nesting), as the official SDK sends it: `scope[type]=user`, `expand[0]=payload`, raw or
 * percent-encoded brackets, `+` or `%20` for spaces, and `expand[]=…` as curl writes it.
 * Anything it cannot read unambiguously is a FormError, which the emulator turns into a 400.
 */

export type FormValue = string | FormValue[] | FormObject;
export interface FormObject {
  [key: string]: FormValue;
}

export class FormError extends Error {
  constructor(
    message: string,
    readonly param?: string,
  ) {
    super(message);
  }
}

const MAX_PARAMS = 1000;
const MAX_DEPTH = 4;
const KEY_PATTERN = /^([^[\]]+)((?:\[[^[\]]*\])*)$/;

/** The message names the parameter, never the value: a value may be a token. */
function decode(part: string, what: string): string {
  try {
    return decodeURIComponent(part.replace(/\+/g, ' '));
  } catch {
    throw new FormError(`Invalid percent-encoding in ${what}.`);
  }
}

function splitKey(key: string): string[] {
  const match = KEY_PATTERN.exec(key);
  if (!match) throw new FormError(`Invalid parameter name: ${key.slice(0, 80)}`);
  const segments = [match[1]];
  for (const inner of match[2].matchAll(/\[([^[\]]*)\]/g)) segments.push(inner[1]);
  if (segments.some((segment) => FORBIDDEN_SEGMENTS.has(segment))) throw new FormError(`Invalid parameter name: ${key.slice(0, 80)}`, segments[0]);
  if (segments.length > MAX_DEPTH) throw new FormError(`Parameter nested too deeply: ${key}`, segments[0]);
  return segments;
}

const isIndex = (segment: string) => segment === '' || /^\d{1,3}$/.test(segment);

/** Names that would reach an object's prototype instead of a property of its own. */
const FORBIDDEN_SEGMENTS = new Set(['__proto__', 'constructor', 'prototype']);

/** Arrays are built as objects keyed by index, then turned into arrays at the end. */
type Draft = { kind: 'array' | 'object'; entries: Map<string, Draft | string> };

function assign(root: Draft, segments: string[], value: string, fullKey: string): void {
  let node = root;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i];
    const last = i === segments.length - 1;
    if (i > 0) {
      const wantArray = isIndex(segment);
      if ((node.kind === 'array') !== wantArray) {
        throw new FormError(`Parameter ${fullKey} mixes list and object forms`, segments[0]);
      }
    }
    const slot = segment === '' ? String(node.entries.size) : segment;
    const existing = node.entries.get(slot);
    if (last) {
      if (existing !== undefined) throw new FormError(`Parameter ${fullKey} was given more than once`, segments[0]);
      node.entries.set(slot, value);
      return;
    }
    if (typeof existing === 'string') {
      throw new FormError(`Parameter ${fullKey} conflicts with a plain value`, segments[0]);
    }
    const child: Draft = existing ?? { kind: isIndex(segments[i + 1]) ? 'array' : 'object', entries: new Map() };
    node.entries.set(slot, child);
    node = child;
  }
}

function finish(draft: Draft): FormValue {
  if (draft.kind === 'array') {
    return [...draft.entries.entries()]
      .sort(([a], [b]) => Number(a) - Number(b))
      .map(([, v]) => (typeof v === 'string' ? v : finish(v)));
  }
  const out: FormObject = Object.create(null);
  for (const [k, v] of draft.entries) out[k] = typeof v === 'string' ? v : finish(v);
  return out;
}

export function parseForm(text: string): FormObject {
  const root: Draft = { kind: 'object', entries: new Map() };
  const parts = text.split('&').filter((p) => p !== '');
  if (parts.length > MAX_PARAMS) throw new FormError(`Too many parameters (more than ${MAX_PARAMS})`);
  for (const part of parts) {
    const eq = part.indexOf('=');
    const key = decode(eq === -1 ? part : part.slice(0, eq), 'a parameter name');
    const value = eq === -1 ? '' : decode(part.slice(eq + 1), `the value of ${key.slice(0, 80)}`);
    assign(root, splitKey(key), value, key);
  }
  return finish(root) as FormObject;
}
