// The integer constants a C header defines (`#define NAME 123` / `0x1f`, and
// enumerators `NAME = 123,`), read from its text so that TypeScript tables
// of names and numbers can be compared with their C source in full. Values
// that are expressions (not a plain number) are left out.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './paths.js';

export function cConstants(header: string): Map<string, number> {
  const text = readFileSync(join(repoRoot(), 'bpf', 'include', header), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^\s*#define\s+([A-Z_][A-Z0-9_]*)\s+(0x[0-9a-fA-F]+|\d+)\s*$/gm)) out.set(m[1]!, Number(m[2]));
  for (const m of text.matchAll(/^\s*([A-Z_][A-Z0-9_]*)\s*=\s*(0x[0-9a-fA-F]+|\d+)\s*,/gm)) out.set(m[1]!, Number(m[2]));
  return out;
}

/** The constants NAME_<suffix> of a prefix, as suffix (lower case) -> value, without the *_COUNT entry. */
export function cTable(constants: ReadonlyMap<string, number>, prefix: string, countName?: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const [name, value] of constants) {
    if (!name.startsWith(prefix) || name === countName) continue;
    out.set(name.slice(prefix.length).toLowerCase(), value);
  }
  return out;
}
