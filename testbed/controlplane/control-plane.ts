// The real Kubernetes control plane on loopback: etcd, kube-apiserver with
// TLS, RBAC and a service account issuer, and (for a whole cluster)
// kube-controller-manager and kube-scheduler, each with its own credentials,
// as kubeadm lays them out. Every process leads its own process group and is
// reported through onStarted, so that whoever tracks processes (the testbed's
// state file) can stop them after a crash.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ApiClient } from '../client.js';
import { freePort } from '../free-port.js';
import { isAlive, logTail, respawnTracked, spawnTracked, stopTracked } from '../processes.js';
import type { TrackedProcess } from '../state.js';
import { kubernetesBinary } from './binaries.js';
import { writeKubeconfig } from './kubeconfig.js';
import type { Credentials } from './kubeconfig.js';
import { Pki } from './pki.js';
import type { Identity } from './pki.js';

/** Kubernetes' defaults, which the testbed's addressing plan assumes. */
export const SERVICE_CIDR = '10.96.0.0/12';
export const NODE_PORT_RANGE = '30000-32767';
export const CLUSTER_CIDR = '10.244.0.0/16';
const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';

/**
 * The controllers of kube-controller-manager a testbed needs (and no more);
 * nodelifecycle lifts the not-ready taint that admission puts on new Nodes;
 * daemonset runs the chart's node agents; root-ca-cert-publisher writes the
 * kube-root-ca.crt ConfigMap that a pod's service account volume holds.
 */
export const CONTROLLERS = ['endpointslice', 'deployment', 'replicaset', 'daemonset', 'serviceaccount', 'root-ca-cert-publisher', 'namespace', 'garbagecollector', 'nodelifecycle'] as const;

export interface ControlPlaneOptions {
  /** Certificates, kubeconfigs, etcd's data and the logs go here. */
  dir: string;
  /** Also run kube-controller-manager and kube-scheduler (a whole cluster); false: etcd and kube-apiserver only. */
  cluster?: boolean;
  onStarted?: (p: TrackedProcess) => void | Promise<void>;
  log?: (line: string) => void;
  readyTimeoutMs?: number;
}

export class ControlPlane {
  readonly processes: TrackedProcess[] = [];

  private constructor(
    readonly dir: string,
    readonly pki: Pki,
    /** https://127.0.0.1:PORT */
    readonly url: string,
    /** kubeconfig of a cluster admin (system:masters). */
    readonly adminKubeconfig: string,
  ) {}

  /**
   * The API server's audit log (JSON lines): every request of a
   * ServiceAccount at Metadata level, nothing else. What Talaria's
   * components ask of the API, to hold the chart's RBAC to it (e2e/rbac.ts).
   */
  get auditLog(): string {
    return auditLogPath(this.dir);
  }

  static async start(o: ControlPlaneOptions): Promise<ControlPlane> {
    const log = o.log ?? (() => undefined);
    // A new control plane starts from empty storage.
    await rm(join(o.dir, 'etcd'), { recursive: true, force: true });
    await mkdir(o.dir, { recursive: true });
    const pki = await Pki.create(o.dir);
    const port = await freePort();
    const cp = new ControlPlane(o.dir, pki, `https://127.0.0.1:${port}`, join(o.dir, 'admin.kubeconfig'));
    const track = async (p: TrackedProcess): Promise<TrackedProcess> => {
      cp.processes.push(p);
      await o.onStarted?.(p);
      return p;
    };
    try {
      await cp.kubeconfigFor('admin', { user: 'kubernetes-admin', groups: ['system:masters'] });
      const etcd = await track(await startEtcd(o.dir));
      const t0 = Date.now();
      const auditPolicy = join(o.dir, 'audit-policy.yaml');
      await writeFile(auditPolicy, stringify(AUDIT_POLICY));
      const serving = await pki.server('apiserver', ['kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local', 'localhost'], ['127.0.0.1', '10.96.0.1']);
      const apiserver = await track(
        spawnTracked(
          'kube-apiserver',
          [
            kubernetesBinary('kube-apiserver'),
            `--etcd-servers=${etcd.argv.find((a) => a.startsWith('--listen-client-urls='))!.split('=')[1]}`,
            '--bind-address=127.0.0.1',
            `--secure-port=${port}`,
            // No endpoints for the `kubernetes` Service: nothing in the testbed
            // may send to an address outside it, and pods do not call the API.
            '--advertise-address=127.0.0.1',
            '--endpoint-reconciler-type=none',
            `--tls-cert-file=${serving.cert}`,
            `--tls-private-key-file=${serving.key}`,
            `--client-ca-file=${pki.caCert}`,
            `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
            `--service-account-key-file=${pki.serviceAccountPub}`,
            `--service-account-signing-key-file=${pki.serviceAccountKey}`,
            `--service-cluster-ip-range=${SERVICE_CIDR}`,
            `--service-node-port-range=${NODE_PORT_RANGE}`,
            '--authorization-mode=Node,RBAC',
            '--enable-admission-plugins=NodeRestriction',
            '--allow-privileged=true',
            '--profiling=false',
            `--audit-policy-file=${auditPolicy}`,
            `--audit-log-path=${auditLogPath(o.dir)}`,
            '--audit-log-format=json',
            // The benchmark creates thousands of objects with many writers at once.
            '--max-requests-inflight=1000',
            '--max-mutating-requests-inflight=500',
          ],
          join(o.dir, 'kube-apiserver.log'),
        ),
      );
      await waitReady(cp, apiserver, o.readyTimeoutMs ?? 60_000);
      log(`kube-apiserver ready at ${cp.url} in ${Date.now() - t0} ms`);
      if (o.cluster) {
        await track(await cp.startControllerManager());
        await track(await cp.startScheduler());
      }
      return cp;
    } catch (err) {
      await cp.stop();
      throw err;
    }
  }

  /**
   * Writes (and returns the path of) a kubeconfig with a client certificate
   * for `id`, for the API server at `server` (default: its own address).
   */
  async kubeconfigFor(name: string, id: Identity, server = this.url): Promise<string> {
    const pair = await this.pki.client(name, id);
    return this.writeKubeconfig(name, id.user, { clientCert: pair }, server);
  }

  /**
   * Writes a kubeconfig with a bound token of a ServiceAccount (from
   * TokenRequest, as a pod's projected token), for the API server at
   * `server` (default: this one's own address).
   */
  async serviceAccountKubeconfig(namespace: string, name: string, token: string, server = this.url): Promise<string> {
    const file = server === this.url ? `sa-${namespace}-${name}` : `sa-${namespace}-${name}-${new URL(server).port}`;
    return this.writeKubeconfig(file, `system:serviceaccount:${namespace}:${name}`, { token }, server);
  }

  private async writeKubeconfig(name: string, user: string, credentials: Credentials, server = this.url): Promise<string> {
    const path = join(this.dir, `${name}.kubeconfig`);
    await writeKubeconfig(path, { server, caCert: this.pki.caCert, user, credentials });
    return path;
  }

  private async startControllerManager(): Promise<TrackedProcess> {
    const kubeconfig = await this.kubeconfigFor('kube-controller-manager', { user: 'system:kube-controller-manager' });
    return spawnTracked(
      'kube-controller-manager',
      [
        kubernetesBinary('kube-controller-manager'),
        `--kubeconfig=${kubeconfig}`,
        `--controllers=${CONTROLLERS.join(',')}`,
        // Each controller acts as its own ServiceAccount, as kubeadm sets it up.
        '--use-service-account-credentials=true',
        `--root-ca-file=${this.pki.caCert}`,
        `--service-account-private-key-file=${this.pki.serviceAccountKey}`,
        `--cluster-cidr=${CLUSTER_CIDR}`,
        `--service-cluster-ip-range=${SERVICE_CIDR}`,
        '--leader-elect=false',
        '--secure-port=0',
        // The default 20 writes/s would take minutes to write the
        // EndpointSlices of the benchmark's thousands of Services.
        '--kube-api-qps=2000',
        '--kube-api-burst=4000',
        '--concurrent-service-endpoint-syncs=10',
      ],
      join(this.dir, 'kube-controller-manager.log'),
    );
  }

  private async startScheduler(): Promise<TrackedProcess> {
    const kubeconfig = await this.kubeconfigFor('kube-scheduler', { user: 'system:kube-scheduler' });
    const config = join(this.dir, 'kube-scheduler.yaml');
    await writeFile(
      config,
      stringify({
        apiVersion: 'kubescheduler.config.k8s.io/v1',
        kind: 'KubeSchedulerConfiguration',
        clientConnection: { kubeconfig, qps: 2000, burst: 4000 },
        leaderElection: { leaderElect: false },
        profiles: [
          {
            schedulerName: 'default-scheduler',
            // Pods of one Deployment are spread evenly over the nodes (skew 1),
            // so that "pods per node" means what it says in every run.
            pluginConfig: [
              {
                name: 'PodTopologySpread',
                args: { defaultingType: 'List', defaultConstraints: [{ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'DoNotSchedule' }] },
              },
            ],
          },
        ],
      }),
    );
    return spawnTracked('kube-scheduler', [kubernetesBinary('kube-scheduler'), `--config=${config}`, '--secure-port=0'], join(this.dir, 'kube-scheduler.log'));
  }

  /**
   * Stops kube-apiserver, waits `downMs`, and starts it again with the same
   * flags (the same port, the same etcd): watches break, nothing is lost.
   * emptyStore: etcd is restarted on empty storage as well, as when a cluster
   * is restored from an old backup: every object is gone and resourceVersions
   * start over, below the ones clients hold.
   */
  async restartApiServer(downMs: number, o: { emptyStore?: boolean } = {}): Promise<void> {
    const names = o.emptyStore ? ['kube-apiserver', 'etcd'] : ['kube-apiserver'];
    const old = names.map((n) => this.processes.findIndex((p) => p.name === n));
    await stopTracked(old.map((i) => this.processes[i]!), 5000);
    if (o.emptyStore) await rm(join(this.dir, 'etcd'), { recursive: true, force: true });
    await new Promise((r) => setTimeout(r, downMs));
    for (const i of [...old].reverse()) {
      const p = this.processes[i]!;
      this.processes[i] = respawnTracked(p);
    }
    await waitReady(this, this.processes[old[0]!]!, 60_000);
  }

  /** Stops every process (SIGTERM, then SIGKILL). */
  async stop(): Promise<void> {
    await stopTracked([...this.processes].reverse(), 2000);
  }
}

/** Requests of ServiceAccounts (the pods' identities) at Metadata level; nothing of the rest. */
const AUDIT_POLICY = {
  apiVersion: 'audit.k8s.io/v1',
  kind: 'Policy',
  omitStages: ['RequestReceived'],
  rules: [{ level: 'Metadata', userGroups: ['system:serviceaccounts'] }, { level: 'None' }],
};

export function auditLogPath(dir: string): string {
  return join(dir, 'audit.log');
}

async function startEtcd(dir: string): Promise<TrackedProcess> {
  const client = `http://127.0.0.1:${await freePort()}`;
  const peer = `http://127.0.0.1:${await freePort()}`;
  return spawnTracked(
    'etcd',
    [
      kubernetesBinary('etcd'),
      '--name=testbed',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=testbed=${peer}`,
      // The testbed's state lives as long as the testbed: no fsync per write.
      '--unsafe-no-fsync',
      '--log-level=warn',
    ],
    join(dir, 'etcd.log'),
  );
}

/** Until /readyz answers 200 (the RBAC cache primed, the bootstrap done). */
async function waitReady(cp: ControlPlane, proc: TrackedProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const client = await ApiClient.fromKubeconfig(cp.adminKubeconfig);
  try {
    for (;;) {
      const r = await client.raw('GET', '/readyz').catch((e: Error) => ({ status: 0, body: e.message }));
      if (r.status === 200) return;
      const last = `${r.status} ${r.body.trim().split('\n').slice(-3).join('; ')}`;
      if (!isAlive(proc.pid)) throw new Error(`kube-apiserver exited before it was ready${logTail(proc.log)}`);
      if (Date.now() > deadline) throw new Error(`kube-apiserver not ready after ${timeoutMs / 1000} s (last answer: ${last})${logTail(proc.log)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    client.close();
  }
}
