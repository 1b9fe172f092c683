// What an end-to-end case works with: the testbed (through its CLI, as a
// user would drive it), object builders, and probes run from inside a pod's
// or the external namespace.
import { AssertionError } from 'node:assert';
import { talariaArgv } from '../cli/self.js';
import { runInNetns } from '../testbed/run-in-netns.js';
import type { TestbedSummary } from '../testbed/cli-session.js';
import { testbedApply, testbedDelete, testbedScale, testbedStatus } from '../testbed/cli-session.js';
import { deployment } from '../testbed/objects.js';
import type { ContainerPort } from '../testbed/objects.js';
import type { Attempt, HeldConnection, ProbeSpec } from './probe.js';

export type Mode = 'talaria' | 'iptables' | 'nftables';
export type Pod = TestbedSummary['pods'][number];

export const CLIENT = 'e2e-client';
export const CLIENT_2 = 'e2e-client-2';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A Deployment of the built-in echo server (answers {"pod","node","client"} on every port). */
export function echoDeployment(name: string, replicas: number, ports: ContainerPort[], extra: { labels?: Record<string, string>; grace?: number } = {}) {
  return deployment({ name, image: 'talaria/echo', replicas, ports, labels: extra.labels, terminationGracePeriodSeconds: extra.grace ?? 2 });
}

export function clientPod(name: string, node: string) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { app: name } },
    spec: { nodeName: node, terminationGracePeriodSeconds: 1, containers: [{ name: 'client', image: 'talaria/echo', ports: [{ containerPort: 7000, protocol: 'TCP' }] }] },
  };
}

/**
 * An HTTP GET from the driver (a process's metrics), bounded. fetch's own
 * timers do not keep node running: a request that hangs while nothing else
 * is pending would end the suite silently with exit code 0.
 */
export async function fetchText(url: string, timeoutMs = 5000): Promise<{ ok: boolean; text: string }> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(new Error(`GET ${url}: no answer in ${timeoutMs} ms`)), timeoutMs);
  try {
    const res = await fetch(url, { signal: abort.signal });
    return { ok: res.ok, text: await res.text() };
  } finally {
    clearTimeout(timer);
  }
}

/** Where the suite is, for a report when it stops early. */
export const progress = { step: 'starting' };

export class E2eContext {
  constructor(
    readonly mode: Mode,
    public tb: TestbedSummary,
  ) {}

  /** Marks results of talaria mode on BMv2. */
  get switchLabel(): { switch?: 'bmv2' } {
    return this.tb.switch.target === 'bmv2' ? { switch: 'bmv2' } : {};
  }

  async refresh(): Promise<TestbedSummary> {
    this.tb = await testbedStatus();
    return this.tb;
  }

  apply(...docs: object[]): Promise<void> {
    return testbedApply(docs);
  }

  delete(kind: string, name: string, namespace = 'default'): Promise<void> {
    return testbedDelete(kind, name, namespace);
  }

  scale(deployment: string, replicas: number): Promise<void> {
    return testbedScale(deployment, replicas);
  }

  pod(name: string): Pod {
    const p = this.tb.pods.find((x) => x.name === name);
    if (!p) throw new AssertionError({ message: `the testbed has no pod ${name}` });
    return p;
  }

  /** The pods of a Deployment (named <deployment>-...). */
  podsOf(deployment: string): Pod[] {
    return this.tb.pods.filter((p) => p.name.startsWith(`${deployment}-`));
  }

  service(name: string): TestbedSummary['services'][number] {
    const s = this.tb.services.find((x) => x.name === name);
    if (!s) throw new AssertionError({ message: `the testbed has no Service ${name}` });
    return s;
  }

  nodePort(name: string, port?: number): number {
    const p = this.service(name).ports.find((x) => port === undefined || x.port === port);
    if (!p?.nodePort) throw new AssertionError({ message: `Service ${name} has no nodePort` });
    return p.nodePort;
  }

  /** Waits until `deployment` has exactly `n` Ready pods and no others. */
  async waitForPods(deployment: string, n: number, timeoutMs = 60_000): Promise<Pod[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await this.refresh();
      const pods = this.podsOf(deployment);
      if (pods.length === n && pods.every((p) => p.ready)) return pods;
      if (Date.now() > deadline) {
        throw new AssertionError({ message: `${deployment}: expected ${n} Ready pods, have ${pods.map((p) => `${p.name}${p.ready ? '' : '(not ready)'}`).join(', ') || 'none'}` });
      }
      await sleep(300);
    }
  }

  async probe<T = Attempt[]>(fromNetns: string, spec: ProbeSpec, timeoutMs = 120_000): Promise<T> {
    const res = await runInNetns(fromNetns, talariaArgv(['e2e', 'probe', JSON.stringify(spec)]), timeoutMs);
    if (res.code !== 0) throw new Error(`probe from ${fromNetns} failed: ${res.stderr.trim()}`);
    return JSON.parse(res.stdout) as T;
  }

  http(fromNetns: string, host: string, port: number, count = 1): Promise<Attempt[]> {
    return this.probe(fromNetns, { kind: 'http', host, port, count });
  }

  udp(fromNetns: string, host: string, port: number, count = 1): Promise<Attempt[]> {
    return this.probe(fromNetns, { kind: 'udp', host, port, count });
  }

  hold(fromNetns: string, host: string, port: number, connections: number, seconds: number): Promise<HeldConnection[]> {
    return this.probe(fromNetns, { kind: 'hold', host, port, connections, seconds, intervalMs: 100 }, (seconds + 60) * 1000);
  }

  /**
   * Retries `check` until it stops throwing: every proxy takes a moment to
   * program a change. The last failure is what the case reports.
   */
  async eventually<T>(what: string, check: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        return await check();
      } catch (err) {
        if (Date.now() > deadline) {
          const e = err as Error;
          throw new AssertionError({ message: `${what}: still failing after ${timeoutMs / 1000}s: ${e.message}` });
        }
        await sleep(500);
      }
    }
  }
}

/** Throws unless every attempt got an answer; returns the pods that answered. */
export function answeredBy(attempts: readonly Attempt[]): string[] {
  const failed = attempts.filter((a) => !a.ok);
  if (failed.length) {
    throw new AssertionError({ message: `expected ${attempts.length} answers, ${failed.length} failed (${[...new Set(failed.map((f) => f.error))].join(', ')})` });
  }
  return attempts.map((a) => a.answer!.pod);
}
