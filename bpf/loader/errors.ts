// The loader's error taxonomy. Every failure names the libbpf/syscall wrapper
// that failed, the object it failed on (map, program, interface, path) and the
// errno; callers branch on the class, never on the message.
import { constants } from 'node:os';
import { lib } from './libbpf.js';

const errnoNames = new Map<number, string>();
for (const [name, value] of Object.entries(constants.errno)) {
  if (!errnoNames.has(value)) errnoNames.set(value, name);
}
/** Kernel-internal "not supported" that leaks out of bpf() and has no libc name. */
export const ENOTSUPP = 524;
errnoNames.set(ENOTSUPP, 'ENOTSUPP');
/** The errno values the loader branches on. */
export const { ENOENT, EEXIST, ENODEV, EINVAL, EOPNOTSUPP } = constants.errno;

/** "ENOENT (No such file or directory)"; libbpf's own codes (4000+) included. */
export function errnoText(errno: number): string {
  const e = Math.abs(errno);
  let text = '';
  try {
    const buf = Buffer.alloc(256);
    lib().libbpf_strerror(e, buf, buf.length);
    text = buf.toString('utf8', 0, buf.indexOf(0));
  } catch {
    // libbpf missing: fall back to the name alone.
  }
  const name = errnoNames.get(e) ?? `errno ${e}`;
  return text && !text.startsWith('Unknown') ? `${name} (${text})` : name;
}

export interface BpfErrorDetails {
  /** The C call that failed, e.g. "bpf_map_update_elem". */
  call: string;
  /** What it failed on: a map, program, object file, interface or path. */
  object: string;
  /** Positive errno; 0 when the check happened in TypeScript. */
  errno: number;
  /** Extra explanation appended to the message. */
  detail?: string;
}

/** Base class of every loader failure. */
export class BpfError extends Error {
  readonly call: string;
  readonly object: string;
  readonly errno: number;
  readonly code: string;

  constructor(d: BpfErrorDetails) {
    const e = Math.abs(d.errno);
    const what = e ? errnoText(e) : '';
    super(`${d.call}(${d.object}) failed${what ? `: ${what}` : ''}${d.detail ? `: ${d.detail}` : ''}`);
    this.name = new.target.name;
    this.call = d.call;
    this.object = d.object;
    this.errno = e;
    this.code = errnoNames.get(e) ?? (e ? `errno ${e}` : '');
  }
}

/** An update found no room: the map is full (E2BIG, ENOSPC). */
export class MapFullError extends BpfError {
  /** Elements written before the map filled up (batch updates). */
  readonly completed: number;
  constructor(d: BpfErrorDetails & { completed?: number }) {
    super(d);
    this.completed = d.completed ?? 0;
  }
}

/** The key is not in the map (ENOENT on lookup, delete, or update with BPF_EXIST). */
export class KeyNotFoundError extends BpfError {}

/** The key is already in the map (EEXIST on update with BPF_NOEXIST). */
export class KeyExistsError extends BpfError {}

/** A key or value does not have the size the map expects; checked before any syscall. */
export class WrongSizeError extends BpfError {
  readonly expected: number;
  readonly actual: number;
  constructor(d: { call: string; object: string; what: string; expected: number; actual: number }) {
    super({ call: d.call, object: d.object, errno: 0, detail: `${d.what} is ${d.actual} bytes, the map expects ${d.expected}` });
    this.expected = d.expected;
    this.actual = d.actual;
  }
}

/** The verifier (or libbpf before it) rejected a program while loading an object. */
export class VerifierError extends BpfError {
  /** The program the kernel rejected, when libbpf said which. */
  readonly program: string | undefined;
  /** The verifier log, trimmed to the lines that explain the rejection. */
  readonly log: string;
  /** The whole verifier log as the kernel wrote it. */
  readonly fullLog: string;
  constructor(d: BpfErrorDetails & { program?: string; log: string; fullLog: string }) {
    super({ ...d, detail: [d.detail, d.program ? `program '${d.program}' rejected by the verifier` : '', d.log ? `verifier log:\n${d.log}` : ''].filter(Boolean).join('; ') });
    this.program = d.program;
    this.log = d.log;
    this.fullLog = d.fullLog;
  }
}

/** A TypeScript codec disagrees with the C struct in the object's BTF. */
export class LayoutMismatchError extends BpfError {
  readonly problems: readonly string[];
  constructor(d: { object: string; type: string; problems: string[] }) {
    super({ call: 'checkLayoutAgainstBtf', object: `${d.object}: ${d.type}`, errno: 0, detail: d.problems.join('; ') });
    this.problems = d.problems;
  }
}

/** Maps a negative return value (or errno) of a map call to the right error class. */
export function mapCallError(call: string, object: string, ret: number, completed?: number): BpfError {
  const errno = Math.abs(ret);
  const d = { call, object, errno };
  switch (errnoNames.get(errno)) {
    case 'E2BIG':
    case 'ENOSPC':
      return call.includes('update') ? new MapFullError({ ...d, completed }) : new BpfError(d);
    case 'ENOENT':
      return new KeyNotFoundError(d);
    case 'EEXIST':
      return new KeyExistsError(d);
    default:
      return new BpfError(d);
  }
}
