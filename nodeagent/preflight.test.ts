import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { preflightProblems } from './preflight.js';
import type { NodeFacts } from './preflight.js';

const fit: NodeFacts = { kernelRelease: '6.1.0-18-amd64', btf: true, uplink: { name: 'eth0', mtu: 9000 }, podGateway: { name: 'cni0', mtu: 1500 } };

void describe('preflight checks', () => {
  void it('a fit node passes', () => assert.deepEqual(preflightProblems(fit), []));

  void it('the uplink needs the pod MTU + 12 for the shim, exactly', () => {
    assert.deepEqual(preflightProblems({ ...fit, uplink: { name: 'eth0', mtu: 1512 } }), []);
    const [p, ...rest] = preflightProblems({ ...fit, uplink: { name: 'eth0', mtu: 1511 } });
    assert.deepEqual(rest, []);
    assert.equal(p!.check, 'mtu');
    assert.match(p!.message, /uplink eth0 MTU 1511 is below the pod MTU 1500 \(cni0\) \+ 12 .*raise the uplink MTU to 1512/);
  });

  void it('kernels before 5.11 fail, 5.11 and later pass', () => {
    for (const [release, ok] of [['5.4.0-150-generic', false], ['4.19.0', false], ['5.10.0', false], ['5.11.0', true], ['5.15.0-91', true], ['6.18.0', true], ['garbage', false]] as const) {
      assert.equal(preflightProblems({ ...fit, kernelRelease: release }).some((p) => p.check === 'kernel'), !ok, release);
    }
  });

  void it('names every missing thing at once: BTF, uplink, pod gateway (no MTU comparison without them)', () => {
    const problems = preflightProblems({ ...fit, btf: false, uplink: { name: 'ens5' }, podGateway: { name: 'cbr0' } });
    assert.deepEqual(problems.map((p) => p.check), ['btf', 'uplink', 'pod_gateway']);
    assert.match(problems[1]!.message, /uplink ens5 does not exist/);
    assert.match(problems[2]!.message, /cbr0 does not exist/);
  });
});
