// The fault injector on stand-in processes (sleep): what it kills, what it
// starts again and when, what it refuses, and that it answers through the
// daemon's control socket.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { requestControl, serveControl } from './control-socket.js';
import { FaultInjector } from './faults.js';
import { isAlive, killTracked, spawnTracked } from './processes.js';
import type { TrackedProcess } from './state.js';

function scene(dir: string) {
  const log = join(dir, 'p.log');
  let processes: TrackedProcess[] = [
    spawnTracked('api-relay', ['sleep', '300'], log),
    spawnTracked('softswitch', ['sleep', '300'], log, { ...process.env, FAULT_TEST: 'kept' }),
    { ...spawnTracked('nodeagent-node-1', ['sleep', '300'], log), pod: 'kube-system/agent', node: 'node-1' },
  ];
  const logs: string[] = [];
  const injector = new FaultInjector({
    processes: () => processes,
    replace: async (old, next) => {
      processes = processes.map((p) => (p === old ? next : p));
    },
    controlPlane: () => undefined,
    switchPorts: () => [],
    node: () => undefined,
    log: (m) => logs.push(m),
  });
  return { injector, get: (name: string) => processes.find((p) => p.name === name)!, all: () => processes, logs };
}

/** A scene in a directory of its own for `body`; every stand-in process killed and the directory removed after, also when it fails. */
async function withScene(body: (s: ReturnType<typeof scene>, dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'faults-'));
  const s = scene(dir);
  try {
    await body(s, dir);
  } finally {
    s.injector.stop(); // nothing started again behind the test's back
    for (const p of s.all()) await killTracked(p).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

void test('faults: restart kills with SIGKILL and starts the same command again, with its environment, after the time down', () =>
  withScene(async (s) => {
    const old = s.get('softswitch');
    const t0 = Date.now();
    const said = await s.injector.handle({ fault: 'restart', process: 'softswitch', downMs: 300 });
    assert.ok(Date.now() - t0 >= 300, 'started again before its time down');
    const next = s.get('softswitch');
    assert.notEqual(next.pid, old.pid);
    assert.ok(!isAlive(old.pid) && isAlive(next.pid));
    assert.deepEqual(next.argv, old.argv);
    assert.equal(next.env?.FAULT_TEST, 'kept');
    assert.match(said, /^restarted softswitch \(pid \d+ -> \d+\) after 300 ms down$/);
  }));

void test('faults: a pod\'s container is only killed (its kubelet restarts it); bad requests are refused by name', () =>
  withScene(async (s) => {
    await assert.rejects(s.injector.handle({ fault: 'restart', process: 'nodeagent-node-1', downMs: 100 }), /container of pod kube-system\/agent: its kubelet restarts it/);
    const agent = s.get('nodeagent-node-1');
    assert.match(await s.injector.handle({ fault: 'restart', process: 'nodeagent-node-1' }), /the kubelet of node-1 restarts it/);
    assert.ok(!isAlive(agent.pid));
    assert.equal(s.get('nodeagent-node-1'), agent, 'the injector started a pod\'s container itself');
    await assert.rejects(s.injector.handle({ fault: 'restart', process: 'nope' }), /no process "nope" \(it has: api-relay, softswitch, nodeagent-node-1\)/);
    await assert.rejects(s.injector.handle({ fault: 'restart', process: 'api-relay', cold: true }), /--cold is a switch's reboot/);
    await assert.rejects(s.injector.handle({ fault: 'restart', process: 'api-relay', downMs: -1 }), /0 or more milliseconds, not -1/);
    await assert.rejects(s.injector.handle({ fault: 'loss', percent: 101 }), /from 0 to 100, not 101/);
    await assert.rejects(s.injector.handle({ fault: 'explode' }), /unknown fault "explode"/);
  }));

void test('faults: api-unreachable takes the nodes\' relay away for the time asked, once at a time, over the control socket', () =>
  withScene(async (s, dir) => {
    const socket = join(dir, 'control.sock');
    const server = await serveControl(socket, (r) => s.injector.handle(r));
    try {
      const relay = s.get('api-relay');
      assert.match(await requestControl(socket, { fault: 'api-unreachable', forMs: 400 }), /^the nodes lost the API server until /);
      assert.ok(!isAlive(relay.pid));
      await assert.rejects(requestControl(socket, { fault: 'api-unreachable', forMs: 400 }), /already lost the API server/);
      await new Promise((r) => setTimeout(r, 800));
      const back = s.get('api-relay');
      assert.notEqual(back.pid, relay.pid);
      assert.ok(isAlive(back.pid), 'the relay was not started again');
    } finally {
      server.close();
    }
  }));
