// The chart as Helm sees it (helm lint, helm template with default values and
// with every option on) and every rendered object checked offline against the
// Kubernetes API schemas, plus the properties the issue asks of each workload.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { KubeConfig } from '@kubernetes/client-node';
import { describeObject, typeCheckObjects, validateWithSchemas } from './k8s-validate.js';
import type { K8sObject } from './k8s-validate.js';

const here = dirname(fileURLToPath(import.meta.url));
const chartDir = here.includes('/dist/') ? here.replace('/dist/', '/') : here;
const repoRoot = join(chartDir, '..', '..');
const allOn = join(chartDir, 'ci', 'all-on-values.yaml');
// helm built with `go install` does not know a Kubernetes version of its own.
const KUBE_VERSION = '1.30.0';

function helm(...args: string[]): string {
  try {
    return execFileSync('helm', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
  } catch (err) {
    const e = err as { code?: string; stdout?: string; stderr?: string; message: string };
    if (e.code === 'ENOENT') assert.fail('helm is not installed: GOBIN=/usr/local/bin go install helm.sh/helm/v3/cmd/helm@v3.16.4');
    assert.fail(`helm ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? e.message}`);
  }
}

function render(...extra: string[]): K8sObject[] {
  const out = helm('template', 'talaria', chartDir, '--namespace', 'kube-system', '--kube-version', KUBE_VERSION, ...extra);
  return parseAllDocuments(out)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function find(objects: K8sObject[], kind: string, name: string): Obj {
  const o = objects.find((x) => x.kind === kind && x.metadata?.name === name);
  assert.ok(o, `${kind} ${name} rendered (have: ${objects.map(describeObject).join(', ')})`);
  return o as Obj;
}

void describe('charts/talaria', () => {
  const renders: Record<string, K8sObject[]> = {};
  before(() => {
    renders.defaults = render();
    renders.allOn = render('-f', allOn);
  });

  void it('passes helm lint --strict, with defaults and with every option on', () => {
    for (const extra of [[], ['-f', allOn]]) {
      assert.match(helm('lint', '--strict', chartDir, '--kube-version', KUBE_VERSION, ...extra), /1 chart\(s\) linted, 0 chart\(s\) failed/);
    }
  });

  void it('rejects values the schema does not allow', () => {
    assert.throws(
      () => helm('template', 'talaria', chartDir, '--kube-version', KUBE_VERSION, '--set', 'switch.address=nope', '--set', 'nodeAgent.uplnk=eth0'),
      (e: unknown) => /switch\.address: Does not match pattern/.test(String(e)) && /Additional property uplnk is not allowed/.test(String(e)),
    );
    assert.throws(() => helm('template', 'talaria', chartDir, '--kube-version', KUBE_VERSION, '--set', 'softswitch.enabled=true'), /softswitch\.ports/);
  });

  for (const which of ['defaults', 'allOn'] as const) {
    void it(`${which}: every object is valid against the Kubernetes API schemas`, async () => {
      assert.deepEqual(await validateWithSchemas(renders[which]!), []);
    });
    void it(`${which}: every object has only fields the API knows (type check)`, () => {
      assert.deepEqual(typeCheckObjects(renders[which]!), []);
    });
    void it(`${which}: every $(VAR) in container args is defined for that container`, () => {
      const configMaps = new Map(renders[which]!.filter((o) => o.kind === 'ConfigMap').map((o) => [o.metadata!.name!, (o as Obj).data ?? {}]));
      for (const w of renders[which]!.filter((o) => ['Deployment', 'DaemonSet'].includes(o.kind)) as Obj[]) {
        for (const c of w.spec.template.spec.containers) {
          const defined = new Set<string>((c.env ?? []).map((e: Obj) => e.name));
          for (const from of c.envFrom ?? []) for (const k of Object.keys(configMaps.get(from.configMapRef.name) ?? {})) defined.add(k);
          for (const arg of c.args as string[]) {
            for (const [, v] of arg.matchAll(/\$\(([A-Z0-9_]+)\)/g)) assert.ok(defined.has(v!), `${w.metadata.name}: ${arg} refers to undefined ${v}`);
          }
        }
      }
    });
  }

  void it('checks the checker: an unknown field and a wrong type are caught', async () => {
    const ds = find(renders.defaults!, 'DaemonSet', 'talaria-node-agent');
    const misspelt = structuredClone(ds);
    misspelt.spec.template.spec.hostNetwrok = true;
    assert.match(typeCheckObjects([misspelt as K8sObject]).join('\n'), /'"hostNetwrok"' does not exist in type/);
    const mistyped = structuredClone(ds);
    mistyped.spec.template.spec.containers[0].ports[0].containerPort = 'healthz';
    assert.match((await validateWithSchemas([mistyped as K8sObject])).join('\n'), /containerPort must be integer/);
  });

  void it('renders the expected objects', () => {
    const kinds = (objs: K8sObject[]): string[] => objs.map((o) => `${o.kind}/${o.metadata?.name}`).sort();
    assert.deepEqual(kinds(renders.defaults!), [
      'ClusterRole/talaria-controller',
      'ClusterRole/talaria-node-agent',
      'ClusterRoleBinding/talaria-controller',
      'ClusterRoleBinding/talaria-node-agent',
      'ConfigMap/talaria',
      'ConfigMap/talaria-kubeconfig',
      'DaemonSet/talaria-node-agent',
      'Deployment/talaria-controller',
      'PodDisruptionBudget/talaria-controller',
      'Role/talaria-controller-leader-election',
      'Role/talaria-node-agent',
      'RoleBinding/talaria-controller-leader-election',
      'RoleBinding/talaria-node-agent',
      'Service/talaria-controller-metrics',
      'Service/talaria-node-agent-metrics',
      'ServiceAccount/talaria-controller',
      'ServiceAccount/talaria-node-agent',
    ]);
    const extra = kinds(renders.allOn!).filter((k) => !kinds(renders.defaults!).includes(k));
    assert.deepEqual(extra, [
      'Certificate/p4rt-controller',
      'Certificate/p4rt-reader',
      'Certificate/p4rt-switch',
      'ConfigMap/talaria-dashboard-overview',
      'ConfigMap/talaria-dashboard-vs-kube-proxy',
      'Deployment/talaria-softswitch',
      'PodMonitor/talaria-controller',
      'PodMonitor/talaria-node-agent',
      'PodMonitor/talaria-softswitch',
      'PrometheusRule/talaria',
      'Service/talaria-softswitch-metrics',
      'ServiceAccount/talaria-softswitch',
      'ServiceMonitor/talaria-controller',
      'ServiceMonitor/talaria-node-agent',
      'ServiceMonitor/talaria-softswitch',
    ]);
  });

  void it('controller: 2 replicas with leader election on its own Lease', () => {
    const d = find(renders.defaults!, 'Deployment', 'talaria-controller');
    assert.equal(d.spec.replicas, 2);
    const args = d.spec.template.spec.containers[0].args as string[];
    assert.equal(args[0], 'controller');
    for (const want of ['--leader-elect-lease-name=talaria-controller', '--leader-elect-lease-namespace=$(POD_NAMESPACE)', '--leader-elect-lease-duration=15s']) {
      assert.ok(args.includes(want), want);
    }
    assert.ok(!args.includes('--no-leader-elect'));
    const single = render('--set', 'controller.leaderElection.enabled=false', '--set', 'controller.replicas=1');
    const singleArgs = find(single, 'Deployment', 'talaria-controller').spec.template.spec.containers[0].args as string[];
    assert.ok(singleArgs.includes('--no-leader-elect'));
    assert.ok(!single.some((o) => o.kind === 'Role' && o.metadata?.name === 'talaria-controller-leader-election'), 'no Lease permissions without leader election');
    assert.ok(!single.some((o) => o.kind === 'PodDisruptionBudget'), 'no PDB for a single replica (it would block drains)');
    assert.equal(d.spec.template.spec.securityContext.runAsNonRoot, true);
  });

  void it('P4Runtime: mutual TLS from the secrets (or cert-manager), the switch bound to its own address, plaintext only when asked for', () => {
    const controller = (objs: K8sObject[]): Obj => find(objs, 'Deployment', 'talaria-controller').spec.template.spec;
    const softswitch = (objs: K8sObject[]): Obj => find(objs, 'Deployment', 'talaria-softswitch').spec.template.spec;
    const c = controller(renders.allOn!);
    const cArgs = c.containers[0].args as string[];
    for (const want of ['--switch-ca-file=/etc/talaria-p4runtime/ca.crt', '--switch-cert-file=/etc/talaria-p4runtime/tls.crt', '--switch-key-file=/etc/talaria-p4runtime/tls.key', '--switch-server-name=switch.rack-1.example.com']) {
      assert.ok(cArgs.includes(want), want);
    }
    assert.ok(!cArgs.includes('--switch-insecure-plaintext'));
    assert.deepEqual(c.volumes.find((v: Obj) => v.name === 'p4runtime-tls'), { name: 'p4runtime-tls', secret: { secretName: 'p4rt-controller', defaultMode: 0o440 } });
    assert.equal(c.securityContext.fsGroup, 65532, 'the non-root controller can read its key');
    const s = softswitch(renders.allOn!);
    const sArgs = s.containers[0].args as string[];
    assert.ok(sArgs.includes('--grpc-addr=$(POD_IP):9559'), 'bound to the node address, not 0.0.0.0');
    assert.ok(sArgs.includes('--writer-identity=talaria-controller.kube-system'), 'only the controllers write');
    assert.ok(sArgs.includes('--client-ca-file=/etc/talaria-p4runtime/ca.crt'));
    assert.deepEqual(s.volumes.find((v: Obj) => v.name === 'p4runtime-tls').secret, { secretName: 'p4rt-switch', defaultMode: 0o400 });
    const server = find(renders.allOn!, 'Certificate', 'p4rt-switch');
    assert.deepEqual([server.spec.commonName, server.spec.dnsNames, server.spec.ipAddresses, server.spec.usages.at(-1)], ['talaria-softswitch', ['switch.rack-1.example.com'], ['192.0.2.1'], 'server auth']);
    assert.equal(find(renders.allOn!, 'Certificate', 'p4rt-controller').spec.commonName, 'talaria-controller.kube-system');
    assert.deepEqual(find(renders.allOn!, 'Certificate', 'p4rt-reader').spec.issuerRef, { name: 'rack-ca', kind: 'ClusterIssuer', group: 'cert-manager.io' });
    // Without cert-manager the secrets are given: no Certificate.
    assert.ok(!renders.defaults!.some((o) => o.kind === 'Certificate'));
    assert.ok((controller(renders.defaults!).containers[0].args as string[]).includes('--switch-key-file=/etc/talaria-p4runtime/tls.key'), 'TLS is the default');
    const plain = render('-f', allOn, '--set', 'switch.tls.enabled=false');
    assert.ok((controller(plain).containers[0].args as string[]).includes('--switch-insecure-plaintext'));
    assert.ok((softswitch(plain).containers[0].args as string[]).includes('--insecure-plaintext'));
    assert.ok(!plain.some((o) => o.kind === 'Certificate'));
    assert.ok(!controller(plain).volumes.some((v: Obj) => v.name === 'p4runtime-tls'));
  });

  void it('node agent: host network, only BPF/NET_ADMIN/SYS_ADMIN/PERFMON, bpffs and the pods\' namespaces, runs on every node', () => {
    const ds = find(renders.defaults!, 'DaemonSet', 'talaria-node-agent');
    const spec = ds.spec.template.spec;
    assert.equal(spec.hostNetwork, true);
    assert.equal(spec.priorityClassName, 'system-node-critical');
    assert.deepEqual(spec.tolerations, [{ operator: 'Exists' }]);
    const sc = spec.containers[0].securityContext;
    assert.equal(sc.privileged, false);
    assert.deepEqual(sc.capabilities, { drop: ['ALL'], add: ['BPF', 'NET_ADMIN', 'SYS_ADMIN', 'PERFMON'] });
    assert.deepEqual(spec.volumes[0], { name: 'bpffs', hostPath: { path: '/sys/fs/bpf', type: 'Directory' } });
    assert.equal(spec.containers[0].volumeMounts[0].mountPath, '/sys/fs/bpf');
    assert.deepEqual(spec.volumes[1], { name: 'netns', hostPath: { path: '/run/netns', type: 'DirectoryOrCreate' } });
    assert.deepEqual(spec.containers[0].volumeMounts[1], { name: 'netns', mountPath: '/run/netns', mountPropagation: 'HostToContainer', readOnly: true });
    assert.ok((spec.containers[0].args as string[]).includes('--node=$(NODE_NAME)'));
  });

  void it('no Talaria pod depends on Services to start: node resolver, API server by address', () => {
    for (const [kind, name] of [['Deployment', 'talaria-controller'], ['DaemonSet', 'talaria-node-agent'], ['Deployment', 'talaria-softswitch']]) {
      const spec = find(renders.allOn!, kind!, name!).spec.template.spec;
      assert.equal(spec.dnsPolicy, 'Default', name);
      const env = spec.containers[0].env as Obj[];
      assert.equal(env.find((e) => e.name === 'KUBERNETES_SERVICE_HOST')?.value, '192.0.2.10', name);
    }
  });

  void it('the kubeconfig given to --kubeconfig loads, with the API server that does not need kube-proxy', () => {
    for (const [which, server] of [['defaults', 'https://kubernetes.default.svc:443'], ['allOn', 'https://192.0.2.10:6443']] as const) {
      // client-node reads the token file while loading: give it one.
      const dir = mkdtempSync(join(tmpdir(), 'talaria-chart-'));
      const kc = new KubeConfig();
      try {
        writeFileSync(join(dir, 'token'), 'sa-token');
        const text = find(renders[which]!, 'ConfigMap', 'talaria-kubeconfig').data.kubeconfig as string;
        assert.match(text, /token-file: \/var\/run\/secrets\/kubernetes\.io\/serviceaccount\/token/);
        kc.loadFromString(text.replace('/var/run/secrets/kubernetes.io/serviceaccount/token', join(dir, 'token')));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      assert.equal(kc.getCurrentUser()?.token, 'sa-token');
      assert.equal(kc.getCurrentCluster()?.server, server);
      assert.equal(kc.getCurrentCluster()?.caFile, '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt');
      for (const w of ['talaria-controller', 'talaria-node-agent']) {
        const spec = find(renders[which]!, w === 'talaria-controller' ? 'Deployment' : 'DaemonSet', w).spec.template.spec;
        assert.ok(spec.containers[0].args.includes('--kubeconfig=/etc/talaria/kubeconfig'), w);
        assert.ok(spec.volumes.some((v: Obj) => v.configMap?.name === 'talaria-kubeconfig'), w);
      }
    }
  });

  void it('NOTES.txt renders: where the switch is, and a warning until the API server is set', () => {
    // helm template does not render NOTES.txt: render it through tpl in a copy.
    const dir = mkdtempSync(join(tmpdir(), 'talaria-notes-'));
    try {
      cpSync(chartDir, dir, { recursive: true, dereference: true });
      renameSync(join(dir, 'templates', 'NOTES.txt'), join(dir, 'files', 'NOTES.txt'));
      writeFileSync(join(dir, 'templates', 'notes.yaml'), 'notes: {{ tpl (.Files.Get "files/NOTES.txt") . | toJson }}\n');
      const notes = (extra: string[]): string => {
        const out = helm('template', 'talaria', dir, '--namespace', 'kube-system', '--kube-version', KUBE_VERSION, '--show-only', 'templates/notes.yaml', ...extra);
        return (parse(out) as { notes: string }).notes;
      };
      const defaults = notes([]);
      assert.match(defaults, /programs the switch at 10\.0\.0\.1:9559 \(device id 1\)/);
      assert.match(defaults, /leader election on Lease talaria-controller/);
      assert.match(defaults, /WARNING: kubernetesApiServer\.host is empty/);
      const withAll = notes(['-f', allOn]);
      assert.match(withAll, /Software switch: ports eth1,eth2,eth3/);
      assert.doesNotMatch(withAll, /WARNING/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // Whether these are all the code uses, and no more, the e2e suite checks against the API server's audit log (e2e/rbac.ts).
  void it('RBAC: one role per component, each bound to its own ServiceAccount only', () => {
    const role = find(renders.defaults!, 'ClusterRole', 'talaria-controller');
    assert.deepEqual(role.rules, [
      { apiGroups: [''], resources: ['services', 'nodes'], verbs: ['list', 'watch'] },
      { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
      { apiGroups: [''], resources: ['events'], verbs: ['create'] },
    ]);
    assert.deepEqual(find(renders.defaults!, 'ClusterRoleBinding', 'talaria-controller').subjects, [{ kind: 'ServiceAccount', name: 'talaria-controller', namespace: 'kube-system' }]);
    const agent = find(renders.defaults!, 'ClusterRole', 'talaria-node-agent');
    assert.deepEqual(agent.rules, [
      { apiGroups: [''], resources: ['services', 'nodes', 'pods'], verbs: ['list', 'watch'] },
      { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
      { apiGroups: [''], resources: ['pods'], verbs: ['get'] },
      { apiGroups: [''], resources: ['nodes', 'nodes/status'], verbs: ['patch'] },
    ]);
    const agentRole = find(renders.defaults!, 'Role', 'talaria-node-agent');
    assert.deepEqual(agentRole.rules, [{ apiGroups: ['apps'], resources: ['daemonsets'], resourceNames: ['talaria-node-agent'], verbs: ['get'] }], 'only its own DaemonSet (is it being uninstalled?)');
    const agentBinding = find(renders.defaults!, 'ClusterRoleBinding', 'talaria-node-agent');
    assert.deepEqual(agentBinding.subjects, [{ kind: 'ServiceAccount', name: 'talaria-node-agent', namespace: 'kube-system' }]);
    const lease = find(renders.defaults!, 'Role', 'talaria-controller-leader-election');
    assert.equal(lease.metadata.namespace, 'kube-system');
    assert.deepEqual(lease.rules[1].resourceNames, ['talaria-controller']);
    assert.ok(!JSON.stringify([role, agent, lease]).includes('"*"'), 'no wildcards');
  });

  void it('ConfigMap: switch address, device id, election, external routes, port MACs', () => {
    const data = find(renders.allOn!, 'ConfigMap', 'talaria').data;
    assert.equal(data.TALARIA_SWITCH_ADDRESS, '192.0.2.1:9559');
    assert.equal(data.TALARIA_SWITCH_DEVICE_ID, '7');
    assert.equal(data.TALARIA_SWITCH_ELECTION_ID, '3');
    assert.equal(data.TALARIA_EXTERNAL_ROUTE_0, '0.0.0.0/0=48,02:00:00:00:00:30');
    const args = find(renders.allOn!, 'Deployment', 'talaria-controller').spec.template.spec.containers[0].args as string[];
    assert.deepEqual(args.filter((a) => a.startsWith('--external-route=')), ['--external-route=$(TALARIA_EXTERNAL_ROUTE_0)', '--external-route=$(TALARIA_EXTERNAL_ROUTE_1)']);
    assert.equal(data.TALARIA_PORT_MAC_1, '48=02:00:00:00:01:30');
    assert.deepEqual(args.filter((a) => a.startsWith('--port-mac=')), ['--port-mac=$(TALARIA_PORT_MAC_0)', '--port-mac=$(TALARIA_PORT_MAC_1)']);
    assert.equal(data.TALARIA_NODE_SWITCH_PORT_0, 'node-a.example.com=1');
    assert.equal(data.TALARIA_NODE_SWITCH_PORT_1, 'node-b.example.com=2');
    assert.deepEqual(args.filter((a) => a.startsWith('--node-switch-port=')), ['--node-switch-port=$(TALARIA_NODE_SWITCH_PORT_0)', '--node-switch-port=$(TALARIA_NODE_SWITCH_PORT_1)']);
    // The switch and the agents answer NodePorts on the same addresses.
    const agentArgs = find(renders.allOn!, 'DaemonSet', 'talaria-node-agent').spec.template.spec.containers[0].args as string[];
    for (const a of [args, agentArgs]) assert.ok(a.includes('--nodeport-addresses=198.18.0.0/15'), a.join(' '));
  });

  void it('PrometheusRule carries the very rules of observability/alerts, runbook links rebased', () => {
    const rule = find(renders.allOn!, 'PrometheusRule', 'talaria');
    const file = parse(readFileSync(join(repoRoot, 'observability', 'alerts', 'talaria.rules.yaml'), 'utf8')) as Obj;
    const rebased = JSON.parse(
      JSON.stringify(file.groups).replaceAll('https://github.com/talaria-io/talaria/blob/main/observability/README.md', 'https://runbooks.example.com/talaria'),
    ) as unknown;
    assert.deepEqual(rule.spec.groups, rebased);
  });

  void it('dashboards ConfigMaps carry the sidecar label and the dashboards of observability/', () => {
    for (const name of ['overview', 'vs-kube-proxy']) {
      const cm = find(renders.allOn!, 'ConfigMap', `talaria-dashboard-${name}`);
      assert.equal(cm.metadata.labels.grafana_dashboard, '1');
      assert.equal(cm.metadata.annotations.grafana_folder, 'Networking');
      const file = `talaria-${name}.json`;
      assert.deepEqual(JSON.parse(cm.data[file] as string), JSON.parse(readFileSync(join(repoRoot, 'observability', 'dashboards', file), 'utf8')));
    }
  });

  void it('scrape objects label jobs as the dashboards expect', () => {
    for (const kind of ['ServiceMonitor', 'PodMonitor']) {
      for (const c of ['controller', 'node-agent', 'softswitch']) {
        const m = find(renders.allOn!, kind, `talaria-${c}`);
        const ep = (m.spec.endpoints ?? m.spec.podMetricsEndpoints)[0];
        assert.deepEqual(ep.relabelings[0], { targetLabel: 'job', replacement: `talaria-${c}` });
        assert.equal(m.metadata.labels.release, 'kube-prometheus-stack');
      }
    }
  });
});
