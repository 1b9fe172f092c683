// Leader election against an in-memory Lease store with optimistic
// concurrency (409 on a stale resourceVersion), real timers, short durations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Lease } from '@kubernetes/client-node';
import { LeaderElector, type LeaseApi } from './leader-election.js';

class MemoryLeases implements LeaseApi {
  lease: V1Lease | undefined;
  private rv = 0;
  failing = false;
  async read(): Promise<V1Lease | undefined> {
    if (this.failing) throw new Error('api server unreachable');
    return this.lease && structuredClone(this.lease);
  }
  async create(_ns: string, lease: V1Lease): Promise<V1Lease> {
    if (this.failing) throw new Error('api server unreachable');
    if (this.lease) throw Object.assign(new Error('exists'), { code: 409 });
    this.lease = { ...structuredClone(lease), metadata: { ...lease.metadata, resourceVersion: String(++this.rv) } };
    return structuredClone(this.lease);
  }
  async replace(_ns: string, _name: string, lease: V1Lease): Promise<V1Lease> {
    if (this.failing) throw new Error('api server unreachable');
    if (lease.metadata?.resourceVersion !== this.lease?.metadata?.resourceVersion) throw Object.assign(new Error('conflict'), { code: 409 });
    this.lease = { ...structuredClone(lease), metadata: { ...lease.metadata, resourceVersion: String(++this.rv) } };
    return structuredClone(this.lease);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function elector(api: LeaseApi, identity: string, events: string[]): LeaderElector {
  return new LeaderElector(api, {
    namespace: 'kube-system',
    name: 'talaria-controller',
    identity,
    leaseDurationMs: 1000,
    renewDeadlineMs: 300,
    retryPeriodMs: 50,
    onStartedLeading: (t) => events.push(`${identity} leads (${t})`),
    onStoppedLeading: () => events.push(`${identity} stops`),
  });
}

void test('one leader; a standby takes over when the leader releases, or when its lease expires', async () => {
  const api = new MemoryLeases();
  const events: string[] = [];
  const a = elector(api, 'a', events);
  const b = elector(api, 'b', events);
  const c = elector(api, 'c', events);
  a.start();
  await sleep(100);
  b.start();
  await sleep(300);
  assert.deepEqual(events, ['a leads (0)']);
  await a.stop(); // releases: b takes over at its next try
  await sleep(200);
  assert.deepEqual(events, ['a leads (0)', 'a stops', 'b leads (1)']);
  assert.equal(api.lease?.spec?.leaseTransitions, 1);

  // b "crashes": it stops renewing without releasing. c waits for the lease to expire (1 s).
  c.start();
  (b as unknown as { stopped: boolean }).stopped = true;
  await sleep(500);
  assert.equal(c.isLeader, false, 'not before expiry');
  await sleep(1200);
  assert.equal(c.isLeader, true);
  await c.stop();
});

void test('a leader that cannot renew steps down after renewDeadline', async () => {
  const api = new MemoryLeases();
  const events: string[] = [];
  const a = elector(api, 'a', events);
  a.start();
  await sleep(100);
  api.failing = true;
  await sleep(600);
  assert.deepEqual(events, ['a leads (0)', 'a stops']);
  assert.equal(a.isLeader, false);
  api.failing = false;
  await sleep(200);
  assert.equal(a.isLeader, true, 're-acquires its own lease');
  await a.stop();
});
