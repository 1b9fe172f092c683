// Durations on the command line and in the configuration file, as Go and
// kube-proxy write them: 500ms, 15s, 10m, 24h, 1h30m.
import { UserError } from './errors.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds of a duration; a bare number is seconds. Throws a UserError naming `what`. */
export function durationMs(what: string, text: string): number {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t) * 1000;
  const parts = [...t.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== t) throw new UserError(`${what} ${JSON.stringify(text)}: expected a duration like 500ms, 2s, 10m, 24h`);
  return parts.reduce((ms, p) => ms + Number(p[1]) * UNITS[p[2]!]!, 0);
}

export function durationSeconds(what: string, text: string): number {
  return durationMs(what, text) / 1000;
}
