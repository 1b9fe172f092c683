// A real kube-apiserver (with etcd) for the tests of the controller, the node
// agent and the telemetry: what they meet in production, not an imitation.
// No kube-controller-manager: a test writes the EndpointSlices it wants, and
// gets the namespace's default ServiceAccount so that Pods are admitted.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { ApiClient, ApiRequestError } from '../client.js';
import type { KubeObject } from '../client.js';
import { ControlPlane } from './control-plane.js';

/** Kill the control plane's processes if the test process exits without stopping them. */
const live = new Set<ControlPlane>();
process.once('exit', () => {
  for (const cp of live) for (const p of cp.processes) {
    try {
      process.kill(-p.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
});

export class TestApiServer {
  private constructor(
    private readonly dir: string,
    readonly controlPlane: ControlPlane,
    /** A cluster admin's client. */
    readonly api: ApiClient,
  ) {}

  static async start(): Promise<TestApiServer> {
    const dir = await mkdtemp(join(tmpdir(), 'talaria-apiserver-'));
    try {
      const cp = await ControlPlane.start({ dir, cluster: false });
      live.add(cp);
      const api = await ApiClient.fromKubeconfig(cp.adminKubeconfig);
      const t = new TestApiServer(dir, cp, api);
      await t.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: 'default' } });
      return t;
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  get url(): string {
    return this.controlPlane.url;
  }

  /** A cluster admin's kubeconfig file. */
  get kubeconfigPath(): string {
    return this.controlPlane.adminKubeconfig;
  }

  /** A cluster admin's KubeConfig. */
  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromFile(this.kubeconfigPath);
    return kc;
  }

  create<T extends KubeObject>(o: T): Promise<T> {
    return this.api.create(o);
  }

  get<T extends KubeObject = KubeObject>(o: KubeObject): Promise<T | undefined> {
    return this.api.get<T>(o);
  }

  /** Creates the object, or replaces the one of that name. */
  async apply<T extends KubeObject>(o: T): Promise<T> {
    return (await this.api.apply(o)).object;
  }

  patchStatus(o: KubeObject, status: Record<string, unknown>): Promise<void> {
    return this.api.patchStatus(o, status);
  }

  /** Deletes at once (grace period 0); a missing object is fine. */
  async delete(o: KubeObject): Promise<void> {
    await this.api.request('DELETE', (await this.api.pathsOf(o)).object, { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0 }).catch((err: unknown) => {
      if (!(err instanceof ApiRequestError && err.status === 404)) throw err;
    });
  }

  list<T = KubeObject>(path: string): Promise<T[]> {
    return this.api.list<T>(path);
  }

  /**
   * Stops kube-apiserver (watches break, etcd keeps the objects), waits, and
   * starts it again on the same port; emptyStore: on an empty etcd.
   */
  async restart(downMs: number, o: { emptyStore?: boolean } = {}): Promise<void> {
    await this.controlPlane.restartApiServer(downMs, o);
    if (o.emptyStore) await this.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: 'default' } });
  }

  async stop(): Promise<void> {
    this.api.close();
    await this.controlPlane.stop();
    live.delete(this.controlPlane);
    await rm(this.dir, { recursive: true, force: true });
  }
}
