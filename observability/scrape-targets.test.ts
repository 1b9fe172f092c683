import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { scrapeJobsFromArgv, scrapeJobsFromProcesses } from './scrape-targets.js';

void describe('scrapeJobsFromArgv', () => {
  void it('labels controller, node agents (with node) and switch as the dashboards expect', () => {
    const node = process.execPath;
    const jobs = scrapeJobsFromArgv([
      [node, '--import', 'tsx', 'cli/main.ts', 'controller', '--kubeconfig', 'k', '--metrics-bind-address', '127.0.0.1:4001'],
      [node, 'dist/cli/main.js', 'nodeagent', '--node', 'node-1', '--metrics-bind-address=127.0.0.1:4002'],
      [node, 'dist/cli/main.js', 'nodeagent', '--node', 'node-2', '--metrics-bind-address', ':4003'],
      [node, 'dist/cli/main.js', 'softswitch', '--ports', 'a,b', '--metrics-bind-address', '0.0.0.0:4004'],
      [node, 'dist/cli/main.js', 'softswitch', '--ports', 'a,b'], // no metrics: not a target
      [node, 'dist/cli/main.js', 'testbed', 'daemon', '--metrics-bind-address', '127.0.0.1:9'], // not a component
    ]);
    assert.deepEqual(jobs, [
      { job: 'talaria-controller', targets: [{ address: '127.0.0.1:4001', labels: {} }] },
      {
        job: 'talaria-node-agent',
        targets: [
          { address: '127.0.0.1:4002', labels: { node: 'node-1' } },
          { address: '127.0.0.1:4003', labels: { node: 'node-2' } },
        ],
      },
      { job: 'talaria-softswitch', targets: [{ address: '127.0.0.1:4004', labels: {} }] },
    ]);
  });

  void it('reads command lines of running processes and skips gone ones', () => {
    assert.deepEqual(scrapeJobsFromProcesses([{ pid: process.pid }, { pid: 2 ** 22 + 7, metrics: '127.0.0.1:1' }]), []);
  });
});
