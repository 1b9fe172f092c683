import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { FIELDS, configArgv, validate, withConfig } from './configuration.js';
import { controllerCommand } from '../controller/command.js';
import { nodeagentCommand } from '../nodeagent/command.js';
import { repoRoot } from '../bpf/testing/paths.js';

const head = { apiVersion: 'talaria.io/v1alpha1', kind: 'TalariaConfiguration' };
const full = {
  ...head,
  clientConnection: { kubeconfig: '/etc/talaria/kubeconfig' },
  nodePortAddresses: ['198.18.0.0/15'],
  controller: {
    healthzBindAddress: '0.0.0.0:10262',
    syncPeriod: '2m',
    switch: { address: '10.0.0.1:9559', deviceId: 7, electionId: 3 },
    leaderElection: { leaderElect: false },
    externalRoutes: [{ cidr: '0.0.0.0/0', port: 48, mac: '02:00:00:00:00:30' }],
    portMacs: [{ port: 1, mac: '02:00:00:00:01:01' }],
    nodeSwitchPorts: { 'node-a': 1 },
  },
  nodeAgent: { uplink: 'ens5', clusterCIDR: '10.32.0.0/12', redirectPeer: false, conntrack: { tcpEstablishedTimeout: '12h', udpTimeout: '30s' } },
};

void describe('TalariaConfiguration (--config)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'talaria-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = (doc: object): string => {
    const p = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(p, stringify(doc));
    return p;
  };

  void it('stands for the flags of each component', () => {
    const v = validate(full);
    assert.deepEqual(configArgv(v, 'controller'), [
      '--kubeconfig=/etc/talaria/kubeconfig', '--nodeport-addresses=198.18.0.0/15', '--healthz-bind-address=0.0.0.0:10262', '--sync-period=2m', '--switch=10.0.0.1:9559', '--device-id=7', '--election-id=3',
      '--no-leader-elect', '--external-route=0.0.0.0/0=48,02:00:00:00:00:30', '--port-mac=1=02:00:00:00:01:01', '--node-switch-port=node-a=1',
    ]);
    assert.deepEqual(configArgv(v, 'nodeagent'), ['--kubeconfig=/etc/talaria/kubeconfig', '--nodeport-addresses=198.18.0.0/15', '--uplink=ens5', '--cluster-cidr=10.32.0.0/12', '--no-redirect-peer', '--conntrack-tcp-timeout-established=12h', '--conntrack-udp-timeout=30s']);
  });

  void it('a flag on the command line wins over the file, a repeatable one replaces the file\'s values', () => {
    const f = file(full);
    const argv = withConfig(['node', 'main.js', 'controller', '--config', f, '--switch', '192.0.2.1:9559', '--port-mac=2=02:00:00:00:02:02'], 'controller');
    assert.deepEqual(argv.slice(0, 3), ['node', 'main.js', 'controller']);
    assert.ok(!argv.includes('--switch=10.0.0.1:9559') && argv.includes('192.0.2.1:9559'));
    assert.deepEqual(argv.filter((a) => a.startsWith('--port-mac')), ['--port-mac=2=02:00:00:00:02:02']);
    assert.ok(argv.includes('--device-id=7') && !argv.includes('--config'));
  });

  void it('names the field of every mistake', () => {
    const bad: [object, RegExp][] = [
      [{ ...head, apiVersion: 'v1' }, /TalariaConfiguration apiVersion: must be talaria.io\/v1alpha1, got "v1"$/],
      [{ ...head, controller: { swich: {} } }, /TalariaConfiguration controller.swich: unknown field$/],
      [{ ...head, controller: { switch: { deviceId: 'one' } } }, /TalariaConfiguration controller.switch.deviceId: must be a positive integer, got "one"$/],
      [{ ...head, controller: { syncPeriod: '1 minute' } }, /TalariaConfiguration controller.syncPeriod: "1 minute" is not a duration/],
      [{ ...head, controller: { portMacs: [{ port: 1, mac: '02:00:00:00:01:01' }, { port: 2, mac: '02:00:00:00:01' }] } }, /TalariaConfiguration controller.portMacs: \[1\]: "2=02:00:00:00:01": "02:00:00:00:01" is not a MAC address/],
      [{ ...head, controller: { nodeSwitchPorts: { a: 600 } } }, /TalariaConfiguration controller.nodeSwitchPorts: a: .*port 600 out of range/],
      [{ ...head, nodeAgent: { clusterCIDR: '10.0.0.0/33' } }, /TalariaConfiguration nodeAgent.clusterCIDR: "10.0.0.0\/33" is not a CIDR$/],
      [{ ...head, nodeAgent: { healthzBindAddress: 'x:99999' } }, /TalariaConfiguration nodeAgent.healthzBindAddress: "x:99999" is not HOST:PORT$/],
      [{ ...head, nodeAgent: 'eth0' }, /TalariaConfiguration nodeAgent: must be a mapping$/],
      [{ ...head, nodePortAddresses: ['10.0.0.0/8', 'eth0'] }, /TalariaConfiguration nodePortAddresses: \[1\]: "eth0" is not a CIDR$/],
    ];
    for (const [doc, want] of bad) assert.throws(() => validate(doc), want, JSON.stringify(doc));
    assert.throws(() => withConfig(['node', 'm', 'controller', '--config', join(dir, 'missing.yaml')], 'controller'), /--config .*missing.yaml: no such file/);
  });

  void it('every field stands for a flag its commands have, and docs/configuration.md documents every field', () => {
    const flags = { controller: controllerCommand.options.map((o) => o.long), nodeagent: nodeagentCommand.options.map((o) => o.long) };
    for (const f of FIELDS) for (const c of f.components) assert.ok(flags[c].includes(f.flag), `${f.path}: talaria ${c} has ${f.flag}`);
    const doc = readFileSync(join(repoRoot(), 'docs', 'configuration.md'), 'utf8');
    for (const f of FIELDS) assert.ok(doc.includes(`\`${f.path}\``) && doc.includes(`\`${f.flag}\``), `docs/configuration.md: ${f.path} (${f.flag})`);
  });
});
