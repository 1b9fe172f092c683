// Leader election on a coordination.k8s.io/v1 Lease, as client-go's
// leaderelection does it: try to acquire or renew every retryPeriod; a lease
// is expired when its record has not changed for leaseDuration by *our*
// clock (no trust in the other holder's clock); the leader steps down when it
// cannot renew within renewDeadline; on stop it releases the lease so a
// standby takes over at its next try instead of waiting for expiry.
import { ApiException, CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from '@kubernetes/client-node';

export interface LeaderElectionOptions {
  readonly namespace: string;
  readonly name: string;
  readonly identity: string;
  readonly leaseDurationMs?: number;
  readonly renewDeadlineMs?: number;
  readonly retryPeriodMs?: number;
  /** Called when this process becomes leader; `transitions` is the Lease's leaseTransitions then (fencing). */
  readonly onStartedLeading: (transitions: number) => void;
  readonly onStoppedLeading: () => void;
  readonly onNewLeader?: (identity: string) => void;
  readonly log?: (line: string) => void;
}

/** The Lease calls used (a seam for tests). */
export interface LeaseApi {
  read(namespace: string, name: string): Promise<V1Lease | undefined>;
  create(namespace: string, lease: V1Lease): Promise<V1Lease>;
  replace(namespace: string, name: string, lease: V1Lease): Promise<V1Lease>;
}

export function leaseApi(kc: KubeConfig): LeaseApi {
  const api = kc.makeApiClient(CoordinationV1Api);
  return {
    async read(namespace, name) {
      try {
        return await api.readNamespacedLease({ namespace, name });
      } catch (err) {
        if (err instanceof ApiException && err.code === 404) return undefined;
        throw err;
      }
    },
    create: (namespace, body) => api.createNamespacedLease({ namespace, body }),
    replace: (namespace, name, body) => api.replaceNamespacedLease({ namespace, name, body }),
  };
}

export class LeaderElector {
  private timer: NodeJS.Timeout | undefined;
  private leading = false;
  private stopped = true;
  private observed = '';
  private observedAt = 0;
  private lastRenew = 0;
  private current: V1Lease | undefined;
  private running: Promise<void> | undefined;
  private lastLeader = '';
  private readonly duration: number;
  private readonly renewDeadline: number;
  private readonly retry: number;

  constructor(
    private readonly api: LeaseApi,
    private readonly opts: LeaderElectionOptions,
  ) {
    this.duration = opts.leaseDurationMs ?? 15_000;
    this.renewDeadline = opts.renewDeadlineMs ?? 10_000;
    this.retry = opts.retryPeriodMs ?? 2_000;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    this.stopped = false;
    this.tick();
  }

  /** Stops trying; a leader releases the Lease and steps down. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    if (this.leading) {
      this.leading = false;
      try {
        const lease = await this.api.read(this.opts.namespace, this.opts.name);
        if (lease?.spec?.holderIdentity === this.opts.identity) {
          lease.spec.holderIdentity = '';
          lease.spec.leaseDurationSeconds = 1;
          lease.spec.renewTime = new V1MicroTime();
          if (lease.spec.acquireTime) lease.spec.acquireTime = new V1MicroTime(lease.spec.acquireTime);
          await this.api.replace(this.opts.namespace, this.opts.name, lease);
        }
      } catch (err) {
        this.opts.log?.(`leader election: releasing the lease failed: ${String(err)}`);
      }
      this.opts.onStoppedLeading();
    }
  }

  private tick(): void {
    if (this.stopped) return;
    this.running = this.tryAcquireOrRenew()
      .catch((err: unknown) => {
        this.opts.log?.(`leader election: ${err instanceof Error ? err.message : String(err)}`);
        return false;
      })
      .then((ok) => {
        const now = Date.now();
        if (ok) this.lastRenew = now;
        if (this.leading && !ok && now - this.lastRenew > this.renewDeadline) {
          this.leading = false;
          this.opts.log?.(`leader election: could not renew lease ${this.opts.namespace}/${this.opts.name} within ${this.renewDeadline} ms; stepping down`);
          this.opts.onStoppedLeading();
        }
      })
      .finally(() => {
        this.running = undefined;
        if (!this.stopped) this.timer = setTimeout(() => this.tick(), this.retry);
      });
  }

  /** One round; true when we hold the lease afterwards. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.opts;
    // Lease times are MicroTime: the API server refuses them with milliseconds.
    const now = new V1MicroTime();
    const lease = await this.api.read(namespace, name);
    if (!lease) {
      const created = await this.api.create(namespace, {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name, namespace },
        spec: { holderIdentity: identity, leaseDurationSeconds: Math.ceil(this.duration / 1000), acquireTime: now, renewTime: now, leaseTransitions: 0 },
      });
      return this.became(created, 0);
    }
    const spec = lease.spec ?? {};
    const record = `${spec.holderIdentity ?? ''}|${String(spec.renewTime ?? '')}|${spec.leaseDurationSeconds ?? ''}`;
    if (record !== this.observed) {
      this.observed = record;
      this.observedAt = Date.now();
    }
    const holder = spec.holderIdentity ?? '';
    if (holder !== this.lastLeader) {
      this.lastLeader = holder;
      if (holder) this.opts.onNewLeader?.(holder);
    }
    const durationMs = (spec.leaseDurationSeconds ?? Math.ceil(this.duration / 1000)) * 1000;
    const expired = holder === '' || this.observedAt + durationMs < Date.now();
    if (holder !== identity && !expired) return false;
    const transitions = (spec.leaseTransitions ?? 0) + (holder === identity ? 0 : 1);
    lease.spec = {
      ...spec,
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(this.duration / 1000),
      renewTime: now,
      acquireTime: holder === identity && spec.acquireTime ? new V1MicroTime(spec.acquireTime) : now,
      leaseTransitions: transitions,
    };
    // replace carries metadata.resourceVersion: a concurrent writer makes this fail with 409.
    const updated = await this.api.replace(namespace, name, lease);
    return this.became(updated, transitions);
  }

  private became(lease: V1Lease, transitions: number): boolean {
    this.current = lease;
    const spec = lease.spec ?? {};
    this.observed = `${spec.holderIdentity ?? ''}|${String(spec.renewTime ?? '')}|${spec.leaseDurationSeconds ?? ''}`;
    this.observedAt = Date.now();
    if (!this.leading && !this.stopped) {
      this.leading = true;
      this.lastLeader = this.opts.identity;
      this.opts.log?.(`leader election: ${this.opts.identity} is the leader (lease ${this.opts.namespace}/${this.opts.name}, transitions ${transitions})`);
      this.opts.onStartedLeading(transitions);
    }
    return true;
  }
}
