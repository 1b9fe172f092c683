// One sync: take the pending changes, compute the desired switch state,
// diff it against what the switch holds, write the difference in safe
// order, and account for it (metrics, events, spans). A full sync re-reads
// the switch first (on connect, after a refused update, periodically), so
// anything changed behind the controller's back is repaired; a partial sync
// diffs only the Services whose inputs changed.
import { SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import type { Update } from '../p4/proto/types.js';
import type { NodePortAddresses } from '../proxy/frontends.js';
import type { ClusterState } from './cluster-state.js';
import { DesiredStateComputer, type DesiredState, type OnSwitch } from './desired/desired-state.js';
import { entityKey, formatEntity, writeOrder, type Entity } from './desired/entities.js';
import type { ControllerMetrics } from './metrics.js';
import { formatProblem, type Problem } from '../proxy/problem.js';
import type { EntityCodec } from './switch/codec.js';
import { planUpdates, type Plan, type PlannedUpdate } from './switch/diff.js';
import { InstalledState } from './switch/installed-state.js';
import { GrpcCode, type SwitchSession } from './switch/session.js';

export interface SyncerOptions {
  readonly state: ClusterState;
  readonly codec: EntityCodec;
  /** kube-proxy's --nodeport-addresses (empty: every InternalIP answers on NodePorts). */
  readonly nodePortAddresses?: NodePortAddresses;
  readonly metrics: ControllerMetrics;
  readonly tracer?: Tracer;
  readonly log?: (line: string) => void;
  /** New problems since the last sync (Events on the Service). */
  readonly onProblems?: (problems: Problem[]) => void;
  /** Called after every successful sync (health). */
  readonly onSynced?: () => void;
  readonly batchSize?: number;
  readonly concurrency?: number;
  /**
   * A periodic full sync recomputes everything and diffs it against the
   * mirror; it re-reads the switch (expensive with 100,000s of entries) only
   * when the last read is older than this. Connects and refused updates
   * always re-read. Default 10 minutes.
   */
  readonly readBackIntervalMs?: number;
  readonly now?: () => number;
}

export class SyncError extends Error {
  override name = 'SyncError';
}

export interface SyncStats {
  readonly full: boolean;
  readonly inserts: number;
  readonly modifies: number;
  readonly deletes: number;
  readonly failures: number;
  readonly durationMs: number;
}

export class Syncer {
  readonly installed = new InstalledState();
  private computer: DesiredStateComputer;
  private session: SwitchSession | undefined;
  private needFull = true;
  private lastReadBack = -Infinity;
  /** The switch's entities as admission sees them (the mirror, not what this process computed last). */
  private readonly onSwitch: OnSwitch = { has: (e) => this.installed.get(entityKey(e)) !== undefined };
  private readonly reported = new Map<string, Problem>();
  private reportedNodeProblems = new Set<string>();
  private readonly carriedTimes = new Map<string, number>();
  private readonly tracer: Tracer;
  private readonly log: (line: string) => void;
  private readonly now: () => number;
  lastStats: SyncStats | undefined;

  constructor(private readonly opts: SyncerOptions) {
    this.tracer = opts.tracer ?? trace.getTracer('talaria-controller');
    this.log = opts.log ?? (() => {});
    this.now = opts.now ?? Date.now;
    this.computer = this.newComputer();
    const cap = opts.codec.capacity();
    for (const t of writeOrder) opts.metrics.tableCapacity.set({ table: opts.codec.tableOf(t) }, cap[t]);
  }

  /** Starts writing through session (we are leader and primary); the next sync is full. */
  attach(session: SwitchSession, opts: { freshIds?: boolean } = {}): void {
    this.session = session;
    this.needFull = true;
    // A new leader adopts ids from the switch, not from whatever it computed before.
    if (opts.freshIds) this.computer = this.newComputer();
  }

  /** Stops writing (lost the switch or leadership); the model stays warm. */
  detach(): void {
    this.session = undefined;
    this.needFull = true;
  }

  get attached(): boolean {
    return this.session !== undefined;
  }

  /** The desired-state computer (ids), for tests and tools. */
  get ids(): DesiredStateComputer {
    return this.computer;
  }

  async sync(ctx: { full?: boolean } = {}): Promise<void> {
    const m = this.opts.metrics;
    const cp = this.opts.state.checkpoint();
    m.serviceChangesTotal.inc(cp.serviceChanges);
    m.endpointChangesTotal.inc(cp.endpointChanges);
    m.serviceChangesPending.set(this.opts.state.pendingServiceChanges);
    m.endpointChangesPending.set(this.opts.state.pendingEndpointChanges);
    for (const [k, t] of cp.changeTimes) this.carriedTimes.set(k, Math.min(t, this.carriedTimes.get(k) ?? Infinity));
    const session = this.session;
    if (!session) {
      // Standby (or disconnected): keep the model, write nothing. Changes seen now are not
      // "programmed" by this process, so they do not count towards programming latency.
      this.carriedTimes.clear();
      return;
    }
    const full = this.needFull || ctx.full === true;
    const started = performance.now();
    await this.tracer.startActiveSpan('sync', async (span) => {
      try {
        span.setAttribute('talaria.sync.full', full);
        const readBack = this.needFull || this.now() - this.lastReadBack >= (this.opts.readBackIntervalMs ?? 600_000);
        span.setAttribute('talaria.sync.read_back', full && readBack);
        if (full && readBack) await this.readBack(session);
        const desired = this.computer.compute(cp.input, this.onSwitch, full ? undefined : { dirty: cp.dirty, servicesChanged: cp.serviceChanges > 0, nodesChanged: cp.nodesChanged });
        const plan = full ? planUpdates(this.installed, allEntities(desired)) : this.partialPlan(desired);
        span.setAttributes({ 'talaria.sync.inserts': plan.inserts, 'talaria.sync.modifies': plan.modifies, 'talaria.sync.deletes': plan.deletes });
        let failures = await this.execute(session, plan);
        let total = { inserts: plan.inserts, modifies: plan.modifies, deletes: plan.deletes };
        if (failures.length > 0) {
          // The mirror may be wrong: read the switch again and reconcile everything once.
          this.log(`sync: ${failures.length} updates refused (first: ${failures[0]}); re-reading the switch and reconciling`);
          await this.readBack(session);
          const retry = planUpdates(this.installed, allEntities(desired));
          failures = await this.execute(session, retry);
          total = { inserts: total.inserts + retry.inserts, modifies: total.modifies + retry.modifies, deletes: total.deletes + retry.deletes };
        }
        this.report(desired, cp.nodeProblems);
        for (const t of writeOrder) m.tableEntries.set({ table: this.opts.codec.tableOf(t) }, this.installed.count(t));
        const durationMs = performance.now() - started;
        this.lastStats = { full, ...total, failures: failures.length, durationMs };
        if (failures.length > 0) {
          this.needFull = true;
          throw new SyncError(`${failures.length} updates refused by the switch after reconciling (first: ${failures[0]})`);
        }
        this.needFull = false;
        const ack = this.now();
        for (const t of this.carriedTimes.values()) m.programmingDuration.observe(Math.max(0, (ack - t) / 1000));
        this.carriedTimes.clear();
        m.syncDuration.observe(durationMs / 1000);
        (full ? m.syncFullDuration : m.syncPartialDuration).observe(durationMs / 1000);
        m.lastSync.set(ack / 1000);
        this.opts.onSynced?.();
      } catch (err) {
        span.recordException(err as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
        if (!(err instanceof SyncError)) this.needFull = true;
        throw err;
      } finally {
        span.end();
      }
    });
  }

  private newComputer(): DesiredStateComputer {
    return new DesiredStateComputer({
      capacity: this.opts.codec.capacity(),
      ipv6: this.opts.codec.ipv6,
      nodePortAddresses: this.opts.nodePortAddresses,
      busy: {
        frontend: (id) => this.installed.hasFrontendId(id),
        backend: (id) => this.installed.hasBackendId(id),
        group: (id) => this.installed.hasGroupId(id),
        member: (id) => this.installed.hasMemberId(id),
      },
    });
  }

  private async readBack(session: SwitchSession): Promise<void> {
    const entities: Entity[] = [];
    for (const p of await session.read(this.opts.codec.readAll())) {
      const e = this.opts.codec.decode(p);
      if (e) entities.push(e);
    }
    this.installed.replaceAll(entities);
    this.computer.adopt(entities);
    this.lastReadBack = this.now();
  }

  /** Only the owners whose entity lists changed in this compute. */
  private partialPlan(desired: DesiredState): Plan {
    const fresh: Entity[] = [];
    const old: Entity[] = [];
    for (const [owner, before] of desired.changed) {
      const now = desired.byOwner.get(owner);
      if (now) for (const e of now) fresh.push(e);
      if (before) for (const e of before) old.push(e);
    }
    return planUpdates(this.installed, fresh, old);
  }

  /** Runs the phases in order; returns a description of each refused update. */
  private async execute(session: SwitchSession, plan: Plan): Promise<string[]> {
    const failures: string[] = [];
    const batchSize = this.opts.batchSize ?? 2000;
    const concurrency = this.opts.concurrency ?? 2;
    for (const phase of plan.phases) {
      const batches: PlannedUpdate[][] = [];
      for (let i = 0; i < phase.updates.length; i += batchSize) batches.push(phase.updates.slice(i, i + batchSize));
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < batches.length) {
          const batch = batches[next++];
          failures.push(...(await this.writeBatch(session, batch)));
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, batches.length) }, worker));
    }
    return failures;
  }

  private async writeBatch(session: SwitchSession, batch: readonly PlannedUpdate[]): Promise<string[]> {
    const updates: Update[] = batch.map((u) => ({ type: u.type, entity: this.opts.codec.encode(u.entity) }));
    return this.tracer.startActiveSpan('p4runtime.Write', async (span) => {
      try {
        span.setAttribute('talaria.write.updates', updates.length);
        const refused = await session.write(updates);
        const failed = new Map(refused.map((f) => [f.index, f]));
        const out: string[] = [];
        batch.forEach((u, i) => {
          const f = failed.get(i);
          // Deleting what is already gone / inserting what is already there means the mirror was
          // stale, not that the switch is wrong: record the switch's truth.
          const ok = !f || (u.type === 'DELETE' && f.code === GrpcCode.NOT_FOUND);
          if (ok) {
            if (u.type === 'DELETE') this.installed.delete(u.entity, u.key);
            else this.installed.set(u.entity, u.key);
            this.opts.metrics.updates.inc({ type: u.type });
          } else {
            out.push(`${u.type} ${formatEntity(u.entity)}: code ${f.code}: ${f.message}`);
          }
        });
        if (out.length > 0) {
          this.opts.metrics.writeErrors.inc(out.length);
          span.setStatus({ code: SpanStatusCode.ERROR, message: `${out.length} updates refused` });
        }
        return out;
      } catch (err) {
        span.recordException(err as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
        throw err;
      } finally {
        span.end();
      }
    });
  }

  private report(desired: DesiredState, nodeProblems: readonly string[]): void {
    const m = this.opts.metrics;
    for (const [reason, n] of Object.entries(desired.unprogrammed)) m.unprogrammed.set({ reason }, n);
    const current = new Map<string, Problem>();
    for (const p of desired.problems) current.set(`${p.service}\0${p.field}\0${p.reason}\0${p.message}`, p);
    const added: Problem[] = [];
    for (const [k, p] of current) if (!this.reported.has(k)) added.push(p);
    for (const k of this.reported.keys()) if (!current.has(k)) this.reported.delete(k);
    for (const [k, p] of current) this.reported.set(k, p);
    for (const p of added) this.log(formatProblem(p));
    for (const line of nodeProblems) if (!this.reportedNodeProblems.has(line)) this.log(line);
    this.reportedNodeProblems = new Set(nodeProblems);
    if (added.length > 0) this.opts.onProblems?.(added);
  }
}

function* allEntities(d: DesiredState): Iterable<Entity> {
  for (const list of d.byOwner.values()) yield* list;
}
