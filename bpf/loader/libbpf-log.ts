// libbpf's own messages ("map 'x': failed to create", "prog 'y': failed to
// load") and the verifier log. libbpf would print its messages to stderr; the
// loader captures them instead so that a failure can carry the lines that
// explain it. TALARIA_LIBBPF_DEBUG=1 also echoes them (with debug level).
import { lib, libc, registerPrintCallback } from './libbpf.js';
import type { Pointer } from './libbpf.js';

const LIBBPF_WARN = 0;
const LIBBPF_DEBUG = 2;
const KEEP = 200;

const recent: string[] = [];
let installed = false;
const scratch = Buffer.alloc(8192);

/** Installs the print callback once per process. */
export function captureLibbpfLog(): void {
  if (installed) return;
  installed = true;
  const debug = process.env.TALARIA_LIBBPF_DEBUG === '1';
  const cb = registerPrintCallback((level: number, fmt: Pointer, ap: Pointer) => {
    if (level === LIBBPF_DEBUG && !debug) return 0;
    const n = libc().vsnprintf(scratch, scratch.length, fmt, ap);
    const text = scratch.toString('utf8', 0, Math.min(Math.max(n, 0), scratch.length - 1));
    for (const line of text.split('\n')) if (line.trim()) recent.push(line);
    if (recent.length > KEEP) recent.splice(0, recent.length - KEEP);
    if (debug || (level === LIBBPF_WARN && process.env.TALARIA_LIBBPF_WARN === '1')) process.stderr.write(`libbpf: ${text}`);
    return 0;
  });
  lib().libbpf_set_print(cb);
}

/** A marker to pass to libbpfMessagesSince(). */
export function libbpfLogMark(): number {
  return recent.length;
}

/** libbpf's messages since a mark (best effort: the ring keeps the last 200). */
export function libbpfMessagesSince(mark: number): string[] {
  return recent.slice(Math.min(mark, recent.length));
}

const STATS = /^(processed \d+ insns|verification time|stack depth|max_states_per_insn|peak_states)/;

/**
 * Trims a verifier log to what explains a rejection: the error message and
 * the instructions leading to it (the tail), without the statistics lines and
 * without the thousands of lines of state before. `maxLines` bounds the tail.
 */
export function trimVerifierLog(log: string, maxLines = 30): string {
  const lines = log.split('\n').filter((l) => l.trim() !== '');
  while (lines.length && STATS.test(lines[lines.length - 1]!)) lines.pop();
  if (lines.length <= maxLines) return lines.join('\n');
  const omitted = lines.length - maxLines;
  return [`... (${omitted} earlier lines omitted)`, ...lines.slice(-maxLines)].join('\n');
}
