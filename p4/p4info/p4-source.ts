// A small reader of the P4_16 declarations that shape a P4Info: typedefs,
// headers and structs (for key widths), and, per control, actions, tables,
// direct counters and action selectors. Regex-based and only as general as
// talaria.p4 needs; its purpose is to let a test compare the program with its
// P4Info without p4c (which is not installable here).

export interface P4Param {
  name: string;
  bitwidth: number;
}
export interface P4Key {
  expr: string;
  matchKind: string;
  /** @name of the key, or the expression as written. */
  name: string;
  bitwidth: number;
}
export interface P4ActionRef {
  name: string;
  defaultOnly: boolean;
}
export interface P4Table {
  name: string;
  keys: P4Key[];
  actions: P4ActionRef[];
  constDefaultAction?: string;
  implementation?: string;
  counters?: string;
  size?: number;
}
export interface P4Selector {
  name: string;
  size: number;
  maxGroupSize?: number;
}
export interface P4Control {
  name: string;
  actions: Map<string, P4Param[]>;
  tables: P4Table[];
  directCounters: Map<string, string>;
  selectors: P4Selector[];
}
export interface P4Program {
  controls: P4Control[];
}

function stripComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/\/\/[^\n]*/g, ' ');
}

/** Substitutes object-like #define macros (numbers and names), then drops preprocessor lines. */
function preprocess(source: string): string {
  const defines = new Map<string, string>();
  for (const m of source.matchAll(/^\s*#define\s+(\w+)\s+(.+)$/gm)) defines.set(m[1], m[2].trim());
  let body = source.replace(/^\s*#.*$/gm, ' ');
  for (const [name, value] of defines) body = body.replace(new RegExp(`\\b${name}\\b`, 'g'), value);
  return body;
}

/** The text between the brace at `open` and its match. */
function block(text: string, open: number): string {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) return text.slice(open + 1, i);
  }
  throw new Error('unbalanced braces in P4 source');
}

function parseNumber(text: string): number {
  const m = /^(?:\d+w)?(0x[0-9a-fA-F]+|\d+)$/.exec(text.trim());
  if (!m) throw new Error(`not a number: ${text}`);
  return Number(m[1]);
}

export function parseP4(rawSource: string): P4Program {
  const source = preprocess(stripComments(rawSource));

  const typedefs = new Map<string, number>();
  for (const m of source.matchAll(/typedef\s+bit<(\d+)>\s+(\w+)\s*;/g)) typedefs.set(m[2], Number(m[1]));
  const widthOf = (type: string): number => {
    const bit = /^bit<(\d+)>$/.exec(type);
    if (bit) return Number(bit[1]);
    if (type === 'bool') return 1;
    const w = typedefs.get(type);
    if (w === undefined) throw new Error(`unknown type ${type}`);
    return w;
  };

  // header and struct members: type name -> member name -> member type
  const aggregates = new Map<string, Map<string, string>>();
  for (const m of source.matchAll(/\b(header|struct)\s+(\w+)\s*\{/g)) {
    const members = new Map<string, string>();
    for (const f of block(source, m.index! + m[0].length - 1).matchAll(/([\w<>]+)\s+(\w+)\s*;/g)) members.set(f[2], f[1]);
    aggregates.set(m[2], members);
  }
  // v1model's (from v1model.p4, which the program includes): the ports a key may match.
  aggregates.set('standard_metadata_t', new Map([['ingress_port', 'bit<9>'], ['egress_spec', 'bit<9>'], ['egress_port', 'bit<9>']]));

  const controls: P4Control[] = [];
  for (const m of source.matchAll(/\bcontrol\s+(\w+)\s*\(([^)]*)\)\s*\{/g)) {
    const params = new Map<string, string>();
    for (const p of m[2].split(',')) {
      const words = p.trim().split(/\s+/);
      if (words.length >= 2) params.set(words[words.length - 1]!, words[words.length - 2]!);
    }
    const exprWidth = (expr: string): number => {
      const [root, ...path] = expr.split('.');
      let type: string | undefined = params.get(root);
      if (!type) throw new Error(`unknown key root ${root}`);
      for (const member of path) {
        const next: string | undefined = aggregates.get(type)?.get(member);
        if (!next) throw new Error(`${type} has no member ${member}`);
        type = next;
      }
      return widthOf(type);
    };
    const body = block(source, m.index! + m[0].length - 1);
    const control: P4Control = { name: m[1], actions: new Map(), tables: [], directCounters: new Map(), selectors: [] };

    for (const a of body.matchAll(/\baction\s+(\w+)\s*\(([^)]*)\)/g)) {
      const ps = a[2].trim() === '' ? [] : a[2].split(',').map((p) => {
        const [type, name] = p.trim().split(/\s+/).slice(-2);
        return { name, bitwidth: widthOf(type) };
      });
      control.actions.set(a[1], ps);
    }
    for (const c of body.matchAll(/direct_counter\s*\(\s*CounterType\.(\w+)\s*\)\s*(\w+)\s*;/g)) control.directCounters.set(c[2], c[1]);
    for (const s of body.matchAll(/((?:@\w+\([^)]*\)\s*)*)action_selector\s*\(([^)]*)\)\s*(\w+)\s*;/g)) {
      const args = s[2].split(',').map((x) => x.trim());
      const mgs = /@max_group_size\(([^)]*)\)/.exec(s[1]);
      control.selectors.push({ name: s[3], size: parseNumber(args[1]), maxGroupSize: mgs ? parseNumber(mgs[1]) : undefined });
    }
    for (const t of body.matchAll(/\btable\s+(\w+)\s*\{/g)) {
      const tb = block(body, t.index! + t[0].length - 1);
      const table: P4Table = { name: t[1], keys: [], actions: [] };
      const keyBlock = /\bkey\s*=\s*\{/.exec(tb);
      if (keyBlock) {
        for (const k of block(tb, keyBlock.index + keyBlock[0].length - 1).matchAll(/([\w.]+)\s*:\s*(\w+)\s*(?:@name\("([^"]*)"\))?\s*;/g)) {
          table.keys.push({ expr: k[1], matchKind: k[2], name: k[3] ?? k[1], bitwidth: exprWidth(k[1]) });
        }
      }
      const actionsBlock = /\bactions\s*=\s*\{/.exec(tb);
      if (actionsBlock) {
        for (const a of block(tb, actionsBlock.index + actionsBlock[0].length - 1).matchAll(/((?:@\w+\s*)*)(\w+)\s*;/g)) {
          table.actions.push({ name: a[2], defaultOnly: /@defaultonly/.test(a[1]) });
        }
      }
      table.constDefaultAction = /const\s+default_action\s*=\s*(\w+)/.exec(tb)?.[1];
      table.implementation = /\bimplementation\s*=\s*(\w+)/.exec(tb)?.[1];
      table.counters = /\bcounters\s*=\s*(\w+)/.exec(tb)?.[1];
      const size = /\bsize\s*=\s*([\w]+)\s*;/.exec(tb)?.[1];
      table.size = size === undefined ? undefined : parseNumber(size);
      control.tables.push(table);
    }
    controls.push(control);
  }
  return { controls };
}
