// Two fresh network namespaces joined by a veth pair, for tests that need
// real traffic through the kernel. Names carry a caller prefix and the pid so
// that parallel test runs never collide; remove() deletes everything.
import { execFileSync } from 'node:child_process';

export interface NetnsPair {
  /** Namespace names (`ip netns`), e.g. tl-ldr-1234-a / -b. */
  readonly a: string;
  readonly b: string;
  /** The veth ends: `ifA` lives in `a`, `ifB` in `b`. */
  readonly ifA: string;
  readonly ifB: string;
  readonly ipA: string;
  readonly ipB: string;
  /** Runs a command inside a namespace and returns its stdout. */
  exec(ns: string, argv: readonly string[]): string;
  /** Deletes both namespaces (and with them the veths and their qdiscs); safe to call twice. */
  remove(): void;
}

function ip(args: readonly string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Lists the namespaces (`ip netns list`) whose names start with a prefix. */
export function netnsWithPrefix(prefix: string): string[] {
  return ip(['netns', 'list'])
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(prefix));
}

/** Creates `<prefix>-<pid>-a` and `-b` with veth0 (10.199.0.1/24) <-> veth0 (10.199.0.2/24), both up. */
export function createNetnsPair(prefix: string, opts: { subnet?: string } = {}): NetnsPair {
  const base = `${prefix}-${process.pid}`;
  const a = `${base}-a`;
  const b = `${base}-b`;
  const subnet = opts.subnet ?? '10.199.0';
  const pair: NetnsPair = {
    a,
    b,
    ifA: 'veth0',
    ifB: 'veth0',
    ipA: `${subnet}.1`,
    ipB: `${subnet}.2`,
    exec: (ns, argv) => execFileSync('ip', ['netns', 'exec', ns, ...argv], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }),
    remove() {
      for (const ns of [a, b]) {
        try {
          ip(['netns', 'del', ns]);
        } catch {
          // already gone
        }
      }
    },
  };
  try {
    ip(['netns', 'add', a]);
    ip(['netns', 'add', b]);
    ip(['-n', a, 'link', 'add', 'veth0', 'type', 'veth', 'peer', 'name', 'veth0', 'netns', b]);
    ip(['-n', a, 'addr', 'add', `${pair.ipA}/24`, 'dev', 'veth0']);
    ip(['-n', b, 'addr', 'add', `${pair.ipB}/24`, 'dev', 'veth0']);
    for (const ns of [a, b]) {
      ip(['-n', ns, 'link', 'set', 'veth0', 'up']);
      ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    }
  } catch (e) {
    pair.remove();
    throw e;
  }
  return pair;
}
