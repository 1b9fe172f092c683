// The "checked against the real thing", on the testbed in talaria
// mode: a real Prometheus scrapes the switch, the controller and the node
// agents, and every dashboard query and alert input returns data; with an
// OTLP endpoint set, a sync is one trace from the controller into the switch.
// A prefix and state directory of our own keep other testbeds out of reach.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { talariaArgv } from '../cli/self.js';
import type { TestbedSummary } from '../testbed/summary.js';
import { checkTestbed } from './check-testbed.js';
import { describeProblems } from './query-check.js';
import { crossServiceTraces, startOtlpReceiver } from './otlp-receiver.js';
import type { OtlpReceiver } from './otlp-receiver.js';

const prefix = `tl-obs-${process.pid}-`;
const root = process.getuid?.() === 0;

void describe('observability on the testbed in talaria mode', { skip: root ? undefined : 'needs root (network namespaces, eBPF)' }, () => {
  let receiver: OtlpReceiver;
  let env: NodeJS.ProcessEnv;
  let processes: TestbedSummary['processes'] = [];

  const testbed = async (...args: string[]): Promise<string> => {
    const [cmd, ...rest] = talariaArgv(['testbed', ...args]);
    const { stdout } = await promisify(execFile)(cmd!, rest, { env, maxBuffer: 16 << 20 });
    return stdout;
  };

  before(async () => {
    receiver = await startOtlpReceiver();
    env = {
      ...process.env,
      TALARIA_TESTBED_PREFIX: prefix,
      TALARIA_TESTBED_STATE_DIR: `/tmp/${prefix}state`,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_BSP_SCHEDULE_DELAY: '200',
    };
    const summary = JSON.parse(await testbed('up', '--mode', 'talaria', '--nodes', '2', '--pods-per-node', '1', '--json')) as TestbedSummary;
    processes = summary.processes;
  });

  after(async () => {
    await testbed('down').catch((e: unknown) => process.stderr.write(`testbed down: ${String(e)}\n`));
    await receiver?.close();
  });

  void it('every dashboard query and alert input returns data', async () => {
    const results = await checkTestbed(processes);
    assert.ok(results.length >= 70, `${results.length} queries checked`);
    assert.equal(describeProblems(results), '');
    for (const alert of results.filter((r) => r.kind === 'alert')) {
      assert.match(alert.detail, /firing now: 0$/, `${alert.origin} quiet on a healthy testbed`);
    }
  });

  void it('a sync is one trace from the controller into the switch', async () => {
    await testbed('scale', 'echo', '--replicas', '3');
    const spans = await receiver.waitFor((s) => crossServiceTraces(s, 'talaria-controller', 'talaria-softswitch').size > 0, 60_000);
    for (const trace of crossServiceTraces(spans, 'talaria-controller', 'talaria-softswitch').values()) {
      const sync = trace.find((s) => s.parentSpanId === '');
      assert.equal(sync?.name, 'sync');
      const handled = trace.filter((s) => s.serviceName === 'talaria-softswitch');
      assert.ok(handled.length > 0 && handled.every((s) => s.name === 'p4runtime.Write' && s.kind === 2));
    }
  });
});
