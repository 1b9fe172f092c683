// Scheduler activity of the whole machine: context switches (/proc/stat
// `ctxt`) and rescheduling IPIs (/proc/interrupts `RES`), the interrupts one
// CPU sends another to wake a task there. They explain figures that CPU time
// alone does not: how connections are spread over backends decides how often
// a wakeup crosses CPUs (a Service spreads each client's connections over all
// of them; pinning each wrk thread to one pod measured 0.00 IPIs per request
// against 0.46 through a Service), and on a VM every such IPI is a costly
// exit. Reported per request next to the CPU time.
import { readFileSync } from 'node:fs';

export interface SchedulerSample {
  contextSwitches: number;
  /** null where the kernel has no RES line (not x86). */
  reschedulingIpis: number | null;
}

export function parseContextSwitches(procStat: string): number {
  const line = procStat.split('\n').find((l) => l.startsWith('ctxt '));
  const n = Number(line?.split(/\s+/)[1]);
  if (!line || !Number.isFinite(n)) throw new Error('/proc/stat: no "ctxt" line');
  return n;
}

/** The RES line summed over CPUs, or null when the architecture has none. */
export function parseReschedulingIpis(procInterrupts: string): number | null {
  const line = procInterrupts.split('\n').find((l) => l.trimStart().startsWith('RES:'));
  if (!line) return null;
  let sum = 0;
  for (const field of line.trim().split(/\s+/).slice(1)) {
    if (!/^\d+$/.test(field)) break; // the description follows the counts
    sum += Number(field);
  }
  return sum;
}

export function sampleScheduler(): SchedulerSample {
  return {
    contextSwitches: parseContextSwitches(readFileSync('/proc/stat', 'utf8')),
    reschedulingIpis: parseReschedulingIpis(readFileSync('/proc/interrupts', 'utf8')),
  };
}

/** Per-request rates between two samples; null where unknown or nothing was served. */
export function schedulerPerRequest(before: SchedulerSample, after: SchedulerSample, requests: number): {
  contextSwitchesPerRequest: number | null;
  reschedulingIpisPerRequest: number | null;
} {
  if (requests <= 0) return { contextSwitchesPerRequest: null, reschedulingIpisPerRequest: null };
  const ipis = before.reschedulingIpis !== null && after.reschedulingIpis !== null ? after.reschedulingIpis - before.reschedulingIpis : null;
  return {
    contextSwitchesPerRequest: (after.contextSwitches - before.contextSwitches) / requests,
    reschedulingIpisPerRequest: ipis === null ? null : ipis / requests,
  };
}
