// Processes the testbed starts in the root namespace (the supervisor daemon,
// the software switch, the controller, the node agents): each leads its own
// process group, so that stopping it also stops whatever it started, and its
// pid goes into the state file so that `down` finds it after a crash.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import type { TrackedProcess } from './state.js';

/** Running (a zombie nobody reaped yet counts as gone: init here reaps late). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/**
 * Starts argv detached (own process group), output appended to log. An
 * environment of its own is recorded, so that the process can be started
 * again exactly (testbed/faults.ts).
 */
export function spawnTracked(name: string, argv: readonly string[], log: string, env?: NodeJS.ProcessEnv): TrackedProcess {
  const fd = openSync(log, 'a');
  try {
    const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', fd, fd], env: env ?? process.env });
    if (child.pid === undefined) throw new Error(`${name}: could not start ${argv[0]}`);
    child.unref();
    return { name, pid: child.pid, argv: [...argv], log, ...(env ? { env: definedOnly(env) } : {}) };
  } finally {
    closeSync(fd);
  }
}

function definedOnly(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}

/** Starts a tracked process again with the command, log and environment it had. */
export function respawnTracked(p: TrackedProcess): TrackedProcess {
  return spawnTracked(p.name, p.argv, p.log ?? '/dev/null', p.env);
}

function signalGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      // gone
    }
  }
}

/** Any member of the group still running (zombies do not count). */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(f[2]) === pgid && f[0] !== 'Z') return true;
    } catch {
      // exited meanwhile
    }
  }
  return false;
}

/** SIGTERM to each group, up to graceMs for them to go, then SIGKILL. */
export async function stopTracked(procs: readonly TrackedProcess[], graceMs = 5000): Promise<void> {
  const live = procs.filter((p) => p.pid > 0 && p.pid !== process.pid);
  for (const p of live) signalGroup(p.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (live.some((p) => groupAlive(p.pid)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (const p of live) if (groupAlive(p.pid)) signalGroup(p.pid, 'SIGKILL');
}

/** SIGKILL to the group (no chance to clean up: a crash), and waits until it is gone. */
export async function killTracked(p: TrackedProcess, timeoutMs = 10_000): Promise<void> {
  signalGroup(p.pid, 'SIGKILL');
  const deadline = Date.now() + timeoutMs;
  while (groupAlive(p.pid)) {
    if (Date.now() > deadline) throw new Error(`${p.name} (pid ${p.pid}) is still running ${timeoutMs / 1000} s after SIGKILL`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The last lines of a process's log, for an error message that says why it stopped. */
export function logTail(path: string | undefined, lines = 8): string {
  if (!path) return '';
  try {
    const tail = readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines);
    return tail.length && tail[0] !== '' ? `\n  last lines of ${path}:\n    ${tail.join('\n    ')}` : ` (${path} is empty)`;
  } catch {
    return '';
  }
}

/** Waits until host:port (or unix:PATH) accepts connections (a server finished starting), or the process died. */
export async function waitListening(addr: string, proc: TrackedProcess, timeoutMs = 60_000): Promise<void> {
  const [host, port] = [addr.slice(0, addr.lastIndexOf(':')), Number(addr.slice(addr.lastIndexOf(':') + 1))];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = addr.startsWith('unix:') ? connect({ path: addr.slice('unix:'.length) }) : connect(port, host);
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (!isAlive(proc.pid)) throw new Error(`${proc.name} (pid ${proc.pid}) exited before listening on ${addr}${logTail(proc.log)}`);
    if (Date.now() > deadline) throw new Error(`${proc.name} does not listen on ${addr} after ${timeoutMs / 1000} s; see ${proc.log ?? 'its log'}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
