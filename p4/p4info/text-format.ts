// Protocol Buffers text format (what p4c writes as *.p4info.txtpb), parsed
// against the message's protobufjs type so that field names, enums and
// nesting are checked while reading. Supports what P4Info files use:
// `field: value`, `field { ... }` / `field: { ... }` / `field < ... >`,
// repeated fields as repeated lines or `[a, b]`, quoted strings with C
// escapes (adjacent strings concatenate), numbers (decimal, hex, octal,
// signed, floats), enum names, true/false, `#` comments.
import protobuf from 'protobufjs';

export class TextFormatError extends Error {
  override name = 'TextFormatError';
}

interface Token {
  kind: 'ident' | 'string' | 'number' | 'punct';
  text: string;
  line: number;
}

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  while (i < source.length) {
    const c = source[i];
    if (c === '\n') {
      line++;
      i++;
    } else if (/\s/.test(c)) {
      i++;
    } else if (c === '#') {
      while (i < source.length && source[i] !== '\n') i++;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < source.length && source[j] !== c) {
        if (source[j] === '\\') j++;
        if (source[j] === '\n') throw new TextFormatError(`line ${line}: unterminated string`);
        j++;
      }
      if (j >= source.length) throw new TextFormatError(`line ${line}: unterminated string`);
      tokens.push({ kind: 'string', text: source.slice(i + 1, j), line });
      i = j + 1;
    } else if (/[-+0-9.]/.test(c)) {
      const m = /^[-+]?(0[xX][0-9a-fA-F]+|[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?[fF]?|inf|nan)/.exec(source.slice(i));
      if (!m || m[0] === '') throw new TextFormatError(`line ${line}: bad number`);
      tokens.push({ kind: 'number', text: m[0], line });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(source.slice(i))!;
      tokens.push({ kind: 'ident', text: m[0], line });
      i += m[0].length;
    } else if ('{}<>[]:,;'.includes(c)) {
      tokens.push({ kind: 'punct', text: c, line });
      i++;
    } else {
      throw new TextFormatError(`line ${line}: unexpected character '${c}'`);
    }
  }
  return tokens;
}

const SIMPLE_ESCAPES: Record<string, number> = { n: 10, r: 13, t: 9, '\\': 92, "'": 39, '"': 34, a: 7, b: 8, f: 12, v: 11, '?': 63 };

/** The bytes a quoted text-format string stands for (C escapes, octal, hex). */
export function unescapeBytes(body: string): Buffer {
  const out: number[] = [];
  const raw = Buffer.from(body, 'utf8');
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] !== 0x5c) {
      out.push(raw[i]);
      continue;
    }
    const next = String.fromCharCode(raw[++i]);
    if (next in SIMPLE_ESCAPES) out.push(SIMPLE_ESCAPES[next]);
    else if (/[0-7]/.test(next)) {
      let digits = next;
      while (digits.length < 3 && /[0-7]/.test(String.fromCharCode(raw[i + 1]))) digits += String.fromCharCode(raw[++i]);
      out.push(parseInt(digits, 8) & 0xff);
    } else if (next === 'x') {
      let digits = '';
      while (digits.length < 2 && /[0-9a-fA-F]/.test(String.fromCharCode(raw[i + 1]))) digits += String.fromCharCode(raw[++i]);
      out.push(parseInt(digits, 16));
    } else throw new TextFormatError(`unknown escape \\${next}`);
  }
  return Buffer.from(out);
}

class Parser {
  private pos = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(): Token | undefined {
    return this.tokens[this.pos];
  }
  private next(): Token {
    const t = this.tokens[this.pos++];
    if (!t) throw new TextFormatError('unexpected end of input');
    return t;
  }
  private accept(text: string): boolean {
    const t = this.peek();
    if (t && t.kind === 'punct' && t.text === text) {
      this.pos++;
      return true;
    }
    return false;
  }

  /** Fields until `close` (or the end of input when close is undefined). */
  message(type: protobuf.Type, close: string | undefined): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (;;) {
      const t = this.peek();
      if (!t) {
        if (close) throw new TextFormatError(`missing '${close}' closing ${type.name}`);
        return out;
      }
      if (close && this.accept(close)) return out;
      const name = this.next();
      if (name.kind !== 'ident') throw new TextFormatError(`line ${name.line}: expected a field name of ${type.name}, got '${name.text}'`);
      const field = type.fields[name.text];
      if (!field) throw new TextFormatError(`line ${name.line}: ${type.fullName.slice(1)} has no field '${name.text}'`);
      field.resolve();
      const colon = this.accept(':');
      const values: unknown[] = [];
      if (this.accept('[')) {
        if (!this.accept(']')) {
          do values.push(this.value(field, colon, name.line));
          while (this.accept(','));
          if (!this.accept(']')) throw new TextFormatError(`line ${name.line}: expected ']'`);
        }
      } else {
        values.push(this.value(field, colon, name.line));
      }
      if (!this.accept(',')) this.accept(';');
      if (field.repeated) {
        const list = (out[field.name] as unknown[] | undefined) ?? [];
        list.push(...values);
        out[field.name] = list;
      } else {
        if (field.name in out) throw new TextFormatError(`line ${name.line}: ${name.text} given twice`);
        out[field.name] = values[0];
      }
    }
  }

  private value(field: protobuf.Field, colon: boolean, line: number): unknown {
    if (field.resolvedType instanceof protobuf.Type) {
      const open = this.next();
      const close = open.text === '{' ? '}' : open.text === '<' ? '>' : undefined;
      if (open.kind !== 'punct' || !close) throw new TextFormatError(`line ${line}: expected '{' after ${field.name}`);
      return this.message(field.resolvedType, close);
    }
    if (!colon) throw new TextFormatError(`line ${line}: expected ':' after ${field.name}`);
    const t = this.next();
    if (field.resolvedType instanceof protobuf.Enum) {
      if (t.kind === 'ident' && t.text in field.resolvedType.values) return t.text;
      if (t.kind === 'number') return Number(t.text);
      throw new TextFormatError(`line ${t.line}: '${t.text}' is not a value of ${field.resolvedType.name}`);
    }
    switch (field.type) {
      case 'string':
      case 'bytes': {
        if (t.kind !== 'string') throw new TextFormatError(`line ${t.line}: ${field.name} needs a quoted string`);
        let body = t.text;
        while (this.peek()?.kind === 'string') body += this.next().text;
        const bytes = unescapeBytes(body);
        return field.type === 'bytes' ? bytes : bytes.toString('utf8');
      }
      case 'bool':
        if (t.text === 'true' || t.text === 't' || t.text === '1') return true;
        if (t.text === 'false' || t.text === 'f' || t.text === '0') return false;
        throw new TextFormatError(`line ${t.line}: ${field.name} needs true or false`);
      case 'double':
      case 'float':
        if (t.kind !== 'number' && !/^(inf|nan)/i.test(t.text)) throw new TextFormatError(`line ${t.line}: ${field.name} needs a number`);
        return Number(t.text.replace(/[fF]$/, ''));
      default: {
        if (t.kind !== 'number' || /[.eE]/.test(t.text.replace(/^[-+]?0[xX].*/, ''))) {
          throw new TextFormatError(`line ${t.line}: ${field.name} needs an integer, got '${t.text}'`);
        }
        const negative = t.text.startsWith('-');
        const digits = t.text.replace(/^[-+]/, '');
        const magnitude = /^0[0-7]+$/.test(digits) ? BigInt('0o' + digits.slice(1)) : BigInt(digits);
        const value = negative ? -magnitude : magnitude;
        return /64/.test(field.type) ? value.toString() : Number(value);
      }
    }
  }
}

/**
 * Parses text format into a plain object that `type.fromObject` accepts
 * (64-bit integers as decimal strings, bytes as Buffer, enums by name).
 */
export function parseTextFormat(type: protobuf.Type, source: string): Record<string, unknown> {
  return new Parser(tokenize(source)).message(type, undefined);
}

function quote(value: string | Uint8Array): string {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
  let out = '"';
  for (const b of bytes) {
    if (b === 0x22) out += '\\"';
    else if (b === 0x5c) out += '\\\\';
    else if (b === 0x0a) out += '\\n';
    else if (b === 0x0d) out += '\\r';
    else if (b === 0x09) out += '\\t';
    else if (b < 0x20 || b >= 0x7f) out += `\\${b.toString(8).padStart(3, '0')}`;
    else out += String.fromCharCode(b);
  }
  return `${out}"`;
}

function isDefault(field: protobuf.Field, value: unknown): boolean {
  if (value === null || value === undefined) return true;
  if (field.resolvedType instanceof protobuf.Type) return false;
  if (field.resolvedType instanceof protobuf.Enum) return value === 0 || field.resolvedType.values[value as string] === 0;
  if (value instanceof Uint8Array) return value.length === 0;
  return value === 0 || value === '0' || value === '' || value === false;
}

/**
 * Prints a message (load.ts CONVERSION form) the way protobuf's TextFormat
 * does for proto3: fields in field-number order, defaults omitted unless
 * they are a set oneof member, two-space indentation.
 */
export function printTextFormat(type: protobuf.Type, message: Record<string, unknown>, indent = ''): string {
  let out = '';
  const fields = [...type.fieldsArray].sort((a, b) => a.id - b.id);
  for (const field of fields) {
    field.resolve();
    const raw = message[field.name];
    const values = field.repeated ? ((raw as unknown[] | undefined) ?? []) : [raw];
    const inSetOneof = field.partOf !== null && message[field.partOf.name] === field.name;
    for (const value of values) {
      if (!field.repeated && !inSetOneof && isDefault(field, value)) continue;
      if (value === null || value === undefined) continue;
      if (field.resolvedType instanceof protobuf.Type) {
        out += `${indent}${field.name} {\n${printTextFormat(field.resolvedType, value as Record<string, unknown>, `${indent}  `)}${indent}}\n`;
      } else if (field.resolvedType instanceof protobuf.Enum) {
        const name = typeof value === 'number' ? field.resolvedType.valuesById[value] : String(value);
        out += `${indent}${field.name}: ${name}\n`;
      } else if (field.type === 'string' || field.type === 'bytes') {
        out += `${indent}${field.name}: ${quote(value as string | Uint8Array)}\n`;
      } else {
        out += `${indent}${field.name}: ${String(value)}\n`;
      }
    }
  }
  return out;
}
