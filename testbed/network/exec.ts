// A small typed wrapper around the iproute2/netfilter tools the testbed
// drives. Every call names the namespace it acts in; nothing here ever runs a
// command that changes the root namespace's links, routes or firewall (the
// only root-level operations are `ip netns add/del`).
import { spawn } from 'node:child_process';

/** A tool exited non-zero: carries the command line and its stderr. */
export class CommandError extends Error {
  override name = 'CommandError';
  constructor(
    readonly argv: readonly string[],
    readonly code: number | null,
    readonly stderr: string,
  ) {
    super(`${argv.join(' ')} failed (exit ${code}): ${stderr.trim().split('\n').slice(0, 5).join('; ')}`);
  }
}

export interface RunOptions {
  /** Written to the child's stdin (for `-batch -`, `iptables-restore`, `nft -f -`). */
  input?: string;
  /** Resolve with the output instead of rejecting on a non-zero exit. */
  allowFailure?: boolean;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number | null;
}

/** Runs argv to completion and collects its output. */
export function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => {
      const res = { stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), code };
      if (code !== 0 && !opts.allowFailure) reject(new CommandError(argv, code, res.stderr || res.stdout));
      else resolve(res);
    });
    // A child that exits before reading all its input must not crash us with EPIPE.
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

/** argv that runs `argv` inside network namespace `ns` (root namespace when null). */
export function inNetns(ns: string | null, argv: readonly string[]): string[] {
  return ns === null ? [...argv] : ['ip', 'netns', 'exec', ns, ...argv];
}

/** `ip [-n NS] args...`, returning stdout. */
export async function ip(ns: string | null, args: readonly string[], opts: RunOptions = {}): Promise<string> {
  return (await run(['ip', ...(ns === null ? [] : ['-n', ns]), ...args], opts)).stdout;
}

/**
 * Runs many `ip` commands in one process (`ip [-n NS] -batch -`): one fork
 * instead of hundreds. `force` keeps going past failing lines (for teardown).
 */
export async function ipBatch(ns: string | null, lines: readonly string[], force = false): Promise<void> {
  if (lines.length === 0) return;
  const argv = ['ip', ...(ns === null ? [] : ['-n', ns]), ...(force ? ['-force'] : []), '-batch', '-'];
  await run(argv, { input: lines.join('\n') + '\n', allowFailure: force });
}

/** `bridge [-n NS] -batch -` for FDB entries. */
export async function bridgeBatch(ns: string, lines: readonly string[]): Promise<void> {
  if (lines.length === 0) return;
  await run(['bridge', '-n', ns, '-batch', '-'], { input: lines.join('\n') + '\n' });
}

/** Sets sysctls inside a namespace (one process for all of them). */
export async function sysctl(ns: string, settings: Readonly<Record<string, string | number>>): Promise<void> {
  const kv = Object.entries(settings).map(([k, v]) => `${k}=${v}`);
  if (kv.length === 0) return;
  await run(inNetns(ns, ['sysctl', '-q', '-w', ...kv]));
}

/** Names of the network namespaces under /run/netns that start with `prefix`. */
export async function listNetns(prefix: string): Promise<string[]> {
  const out = await ip(null, ['netns', 'list'], { allowFailure: true });
  return out
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(prefix));
}

/** Pids of the processes living in a namespace (`ip netns pids`). */
export async function netnsPids(ns: string): Promise<number[]> {
  const out = await ip(null, ['netns', 'pids', ns], { allowFailure: true });
  return out
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((p) => Number.isInteger(p) && p > 0);
}

/** The MAC address of an interface in a namespace. */
export async function linkMac(ns: string, ifname: string): Promise<string> {
  const out = await ip(ns, ['-j', 'link', 'show', 'dev', ifname]);
  const links = JSON.parse(out) as { address?: string }[];
  const mac = links[0]?.address;
  if (!mac) throw new Error(`interface ${ifname} in netns ${ns} has no MAC address`);
  return mac;
}
