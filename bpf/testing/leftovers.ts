// What a test must not leave behind, listed so that it can assert "nothing":
// namespaces with its prefix, pins under its directory, child processes.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { netnsWithPrefix } from './netns-pair.js';

// tsx (running tests from sources) keeps an esbuild service as a child: not ours.
const NOT_OURS = /esbuild/;

/** Pids of the live (non-zombie) children of this process, other than tooling's. */
export function childProcesses(): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // "pid (comm) state ppid ...": comm may contain spaces, so split after ")".
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) !== process.pid || state === 'Z') continue;
      if (NOT_OURS.test(readFileSync(`/proc/${name}/cmdline`, 'utf8'))) continue;
      out.push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** Everything left over from a test, as readable strings; [] when clean. */
export function leftovers(opts: { netnsPrefix?: string; pinDir?: string }): string[] {
  const found: string[] = [];
  if (opts.netnsPrefix) found.push(...netnsWithPrefix(opts.netnsPrefix).map((n) => `netns ${n}`));
  if (opts.pinDir && existsSync(opts.pinDir)) found.push(`pin dir ${opts.pinDir}`);
  found.push(...childProcesses().map((p) => `child process ${p}`));
  return found;
}
