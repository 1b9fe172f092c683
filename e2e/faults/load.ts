// The traffic a fault meets: long-lived keep-alive connections through a
// ClusterIP from a pod on every node and through a NodePort from the external
// client, plus a stream of new connections from each of them. What it
// reports is what users would notice: connections that broke, connections
// that landed on another backend, new connections refused or timed out, and
// how long until every new connection worked again.
import type { E2eContext } from '../context.js';
import type { HeldConnection, StreamAttempt } from '../probe.js';

export interface LoadSpec {
  seconds: number;
  /** Held connections from each client pod (ClusterIP) and from the external client (NodePort). */
  heldPerPod: number;
  heldExternal: number;
  /** Pause between two requests of a held connection. */
  holdIntervalMs: number;
  /**
   * How long a held connection's request may wait for its answer. Long:
   * a connection that stalls while a switch reboots and resumes on TCP's
   * retransmissions is not broken.
   */
  requestTimeoutMs: number;
  /** Pause between two new connections of one source, and how long each may take. */
  streamIntervalMs: number;
  streamTimeoutMs: number;
}

export const DEFAULT_LOAD: Omit<LoadSpec, 'seconds'> = {
  heldPerPod: 60,
  heldExternal: 40,
  holdIntervalMs: 500,
  requestTimeoutMs: 30_000,
  streamIntervalMs: 100,
  streamTimeoutMs: 2000,
};

export interface Target {
  clusterIP: string;
  port: number;
  /** A node address and the Service's NodePort, for the external client. */
  nodeIP: string;
  nodePort: number;
}

export interface Source {
  name: string;
  netns: string;
  host: string;
  port: number;
}

export interface LoadResult {
  held: (HeldConnection & { source: string })[];
  attempts: (StreamAttempt & { source: string })[];
}

export function sources(ctx: E2eContext, clientPods: readonly string[], t: Target): Source[] {
  return [
    ...clientPods.map((name) => ({ name, netns: ctx.pod(name).netns, host: t.clusterIP, port: t.port })),
    { name: 'external', netns: ctx.tb.external.netns, host: t.nodeIP, port: t.nodePort },
  ];
}

/** Starts the load from every source; resolves when it has run for spec.seconds. */
export async function runLoad(ctx: E2eContext, from: readonly Source[], spec: LoadSpec): Promise<LoadResult> {
  const slack = 120_000;
  const held = from.map((s) =>
    ctx
      .probe<HeldConnection[]>(s.netns, { kind: 'hold', host: s.host, port: s.port, connections: s.name === 'external' ? spec.heldExternal : spec.heldPerPod, seconds: spec.seconds, intervalMs: spec.holdIntervalMs, requestTimeoutMs: spec.requestTimeoutMs }, spec.seconds * 1000 + slack)
      .then((hs) => hs.map((h) => ({ ...h, source: s.name }))),
  );
  const streams = from.map((s) =>
    ctx
      .probe<StreamAttempt[]>(s.netns, { kind: 'stream', host: s.host, port: s.port, seconds: spec.seconds, intervalMs: spec.streamIntervalMs, timeoutMs: spec.streamTimeoutMs }, spec.seconds * 1000 + slack)
      .then((as) => as.map((a) => ({ ...a, source: s.name }))),
  );
  return { held: (await Promise.all(held)).flat(), attempts: (await Promise.all(streams)).flat() };
}

/** The figures of one fault, as the closing report gives them. */
export interface FaultFigures {
  held: number;
  /** Held connections that saw an error (and so ended). */
  broken: number;
  /** Held connections answered by another pod than their first. */
  moved: number;
  /** The longest a held connection's request waited (a stall through the fault). */
  maxStallMs: number;
  newConnections: number;
  /** New connections that failed from the fault's start to its end, and after it. */
  newFailedDuring: number;
  newFailedAfter: number;
  /** From the fault's start until new connections stopped failing (0: none failed). */
  fullServiceMs: number;
}

/**
 * `faultAt`..`faultEnd` (ms since the epoch): when the fault began and when
 * it was over (the process started again, the API server back, the loss
 * stopped). Failures before `faultAt` are the load's own and are reported
 * apart by the caller.
 */
export function figures(r: LoadResult, faultAt: number, faultEnd: number): FaultFigures {
  const failed = r.attempts.filter((a) => !a.ok && a.at >= faultAt);
  const lastFailure = failed.reduce((t, a) => Math.max(t, a.at + a.ms), faultAt);
  return {
    held: r.held.length,
    broken: r.held.filter((h) => h.errors > 0 || h.firstPod === null).length,
    moved: r.held.filter((h) => h.switches > 0).length,
    maxStallMs: r.held.reduce((m, h) => Math.max(m, h.maxMs), 0),
    newConnections: r.attempts.filter((a) => a.at >= faultAt).length,
    newFailedDuring: failed.filter((a) => a.at < faultEnd).length,
    newFailedAfter: failed.filter((a) => a.at >= faultEnd).length,
    fullServiceMs: failed.length ? lastFailure - faultAt : 0,
  };
}

export function formatFigures(f: FaultFigures): string {
  return (
    `${f.held} held: ${f.broken} broken, ${f.moved} moved, longest stall ${f.maxStallMs} ms; ` +
    `${f.newConnections} new connections: ${f.newFailedDuring} failed during the fault, ${f.newFailedAfter} after; ` +
    `full service ${f.fullServiceMs} ms after the fault began`
  );
}

/** Why held connections broke: by source and error, when (seconds into the load) and on which backends. */
export function brokenSample(r: LoadResult): string {
  const broken = r.held.filter((h) => h.errors > 0 || h.firstPod === null || h.switches > 0);
  const by = new Map<string, (typeof broken)[number][]>();
  for (const h of broken) {
    const k = `${h.source}: ${h.firstError ?? (h.switches ? 'moved' : 'no answer')}`;
    by.set(k, [...(by.get(k) ?? []), h]);
  }
  return [...by]
    .map(([k, hs]) => {
      const at = hs.map((h) => h.errorAtSeconds).filter((t): t is number => t !== undefined);
      const when = at.length ? ` at ${Math.min(...at).toFixed(1)}-${Math.max(...at).toFixed(1)} s` : '';
      return `${hs.length} x ${k}${when} (backends ${[...new Set(hs.map((h) => h.firstPod ?? '-'))].join(', ')})`;
    })
    .join('; ');
}
