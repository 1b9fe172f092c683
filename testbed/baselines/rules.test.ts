// Golden tests of the kube-proxy-shaped rules, and the proof that the kernel
// tools accept them (iptables-restore and nft in a scratch namespace).
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildServicePorts } from './service-model.js';
import { baseRules, iptablesRules, portProtoHash } from './iptables-rules.js';
import { nftablesRules, servicePortChainBase } from './nftables-rules.js';
import { NODE, services, slices } from './fixtures.js';
import { run } from '../network/exec.js';

// Golden files live beside the sources (tsc does not copy them to dist/).
const golden = (name: string): string => fileURLToPath(new URL(`./testdata/${name}`, import.meta.url)).replace('/dist/testbed/', '/testbed/');
const ports = buildServicePorts(services, slices, NODE);
const ipt = iptablesRules(ports, { clusterCIDR: '10.244.0.0/16' });
const nft = nftablesRules(ports, { clusterCIDR: '10.244.0.0/16', serviceCIDR: '10.96.0.0/12', nodePortIPs: ['198.18.1.2'] });

function compareGolden(name: string, text: string): void {
  if (process.env.UPDATE_GOLDEN) writeFileSync(golden(name), text);
  assert.equal(text, readFileSync(golden(name), 'utf8'));
}

describe('kube-proxy rule shapes', () => {
  it('names chains with kube-proxy hashes', () => {
    // The values kube-proxy's own tests expect for ns1/svc1:p80/TCP.
    const svc1 = ports.find((p) => p.name === 'svc1')!;
    assert.equal(portProtoHash(svc1), 'XPGD46QRK7WJZT7O');
    assert.equal(servicePortChainBase(svc1), 'ULMVA6XW-ns1/svc1/tcp/p80');
  });

  it('models endpoints as kube-proxy does', () => {
    const svc2 = ports.find((p) => p.name === 'svc2')!;
    assert.equal(svc2.endpoints.length, 3);
    assert.equal(ports.some((p) => p.name === 'headless'), false);
  });

  it('iptables matches the golden text', () => compareGolden('iptables.golden', ipt.text));
  it('nftables matches the golden text', () => compareGolden('nftables.golden', nft.text));

  it('spreads with statistic probabilities 1/n, 1/(n-1), ...', () => {
    const three = buildServicePorts(
      [{ metadata: { name: 's', namespace: 'ns' }, spec: { clusterIP: '10.96.0.9', ports: [{ port: 80 }] } }],
      [
        {
          metadata: { name: 's-x', namespace: 'ns', labels: { 'kubernetes.io/service-name': 's' } },
          addressType: 'IPv4',
          endpoints: ['10.244.1.2', '10.244.1.3', '10.244.2.2'].map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
          ports: [{ port: 8080, protocol: 'TCP' }],
        },
      ],
      NODE,
    );
    const text = iptablesRules(three, { clusterCIDR: '10.244.0.0/16' }).text;
    assert.match(text, /--probability 0\.3333333333 -j KUBE-SEP-/);
    assert.match(text, /--probability 0\.5000000000 -j KUBE-SEP-/);
    assert.match(nftablesRules(three, { clusterCIDR: '10.244.0.0/16', serviceCIDR: '10.96.0.0/12', nodePortIPs: [] }).text, /numgen random mod 3 vmap \{ 0 : goto endpoint-.* , 1 : goto .* , 2 : goto /);
  });

  it('deletes chains that are no longer used', () => {
    const next = iptablesRules(ports.filter((p) => p.name !== 'svc1'), { clusterCIDR: '10.244.0.0/16' }, ipt.state);
    assert.match(next.text, /^-X KUBE-SVC-XPGD46QRK7WJZT7O$/m);
    assert.match(next.text, /^:KUBE-SVC-XPGD46QRK7WJZT7O - \[0:0\]$/m);
  });

  it('rewrites only the chains of service ports that changed (partial sync)', () => {
    const changed = ports.map((p) => (p.name === 'svc2' ? { ...p, endpoints: p.endpoints.slice(1) } : p));
    const next = iptablesRules(changed, { clusterCIDR: '10.244.0.0/16' }, ipt.state);
    const declared = next.text.split('\n').filter((l) => /^:KUBE-(SVC|SEP|EXT|SVL)-/.test(l));
    // svc2's service and external chains are rewritten, its dropped endpoint's chain deleted; nothing else.
    assert.deepEqual(declared.sort(), [':KUBE-EXT-IP2NFBUX2EWVD722 - [0:0]', ':KUBE-SEP-LP2XVCF47WZ7HGEU - [0:0]', ':KUBE-SEP-Y4APBZOX7IC6NVQL - [0:0]', ':KUBE-SVC-IP2NFBUX2EWVD722 - [0:0]'].sort());
    assert.match(next.text, /^-X KUBE-SEP-LP2XVCF47WZ7HGEU$/m);
    // The shared chains still list every service.
    assert.match(next.text, /-A KUBE-SERVICES .*ns1\/svc1:p80 cluster IP/);
    const same = iptablesRules(changed, { clusterCIDR: '10.244.0.0/16' }, next.state);
    assert.equal(same.written, 0);
  });

  it('nftables: a partial sync touches only what changed', () => {
    const ctx = { clusterCIDR: '10.244.0.0/16', serviceCIDR: '10.96.0.0/12', nodePortIPs: ['198.18.1.2'] };
    const changed = ports.filter((p) => p.name !== 'svc1').map((p) => (p.name === 'svc2' ? { ...p, endpoints: p.endpoints.slice(1) } : p));
    const next = nftablesRules(changed, ctx, nft.state);
    const lines = next.text.trim().split('\n');
    assert.equal(next.written, 1);
    assert.ok(lines.includes('flush chain ip kube-proxy service-QCIBCZ4I-ns1/svc2/tcp/p80'));
    assert.ok(lines.includes('delete chain ip kube-proxy endpoint-6S47UZGH-ns1/svc2/tcp/p80__10.244.1.3/8080'));
    assert.ok(lines.includes('delete element ip kube-proxy service-ips { 10.96.0.41 . tcp . 80 }'));
    assert.ok(lines.includes('delete chain ip kube-proxy service-ULMVA6XW-ns1/svc1/tcp/p80'));
    assert.equal(lines.some((l) => l.includes('svc4') || l.includes('svc5')), false);
    assert.equal(nftablesRules(changed, ctx, next.state).text.trim(), '');
  });

  describe('the kernel accepts them', () => {
    const ns = `tl-tb-${process.pid}-rules`;
    after(async () => {
      await run(['ip', 'netns', 'del', ns], { allowFailure: true });
    });
    it('iptables-restore and nft -f apply the rules (twice, as a resync does)', async () => {
      await run(['ip', 'netns', 'add', ns]);
      const exec = (argv: string[], input: string): Promise<unknown> => run(['ip', 'netns', 'exec', ns, ...argv], { input });
      await exec(['iptables-legacy-restore'], baseRules());
      await exec(['iptables-legacy-restore', '--noflush'], ipt.text);
      await exec(['iptables-legacy-restore', '--noflush'], iptablesRules(ports.slice(1), { clusterCIDR: '10.244.0.0/16' }, ipt.state).text);
      const saved = await run(['ip', 'netns', 'exec', ns, 'iptables-legacy-save', '-t', 'nat']);
      assert.doesNotMatch(saved.stdout, /KUBE-SVC-XPGD46QRK7WJZT7O/);
      assert.match(saved.stdout, /-A KUBE-SERVICES .* -j KUBE-SVC-IP2NFBUX2EWVD722/);
      await exec(['nft', '-f', '-'], nft.text);
      await exec(['nft', '-f', '-'], nft.text);
      const listed = await run(['ip', 'netns', 'exec', ns, 'nft', 'list', 'map', 'ip', 'kube-proxy', 'service-ips']);
      assert.match(listed.stdout, /10\.96\.0\.41 \. tcp \. 80 : goto service-ULMVA6XW-ns1\/svc1\/tcp\/p80/);
      // A partial sync (svc1 gone, svc2 lost an endpoint, svc4 gained one) applies on top.
      const ctx = { clusterCIDR: '10.244.0.0/16', serviceCIDR: '10.96.0.0/12', nodePortIPs: ['198.18.1.2'] };
      const changed = ports
        .filter((p) => p.name !== 'svc1')
        .map((p) => (p.name === 'svc2' ? { ...p, endpoints: p.endpoints.slice(1) } : p.name === 'svc4' ? { ...p, endpoints: [...p.endpoints, { ...p.endpoints[0]!, ip: '10.244.2.7' }] } : p));
      const partial = nftablesRules(changed, ctx, nft.state);
      await exec(['nft', '-f', '-'], partial.text);
      const table = (await run(['ip', 'netns', 'exec', ns, 'nft', 'list', 'table', 'ip', 'kube-proxy'])).stdout;
      assert.doesNotMatch(table, /svc1|10\.244\.1\.3/);
      assert.match(table, /dnat to 10\.244\.2\.7:5353/);
      assert.match(table, /affinity-.*10\.244\.2\.7\/5353/);
      // Split into transactions of two service ports, the table comes out the same.
      const chunked = nftablesRules(ports, ctx, undefined, 2);
      assert.equal(chunked.transactions.length, 3);
      for (const t of chunked.transactions) await exec(['nft', '-f', '-'], t);
      const whole = (await run(['ip', 'netns', 'exec', ns, 'nft', 'list', 'table', 'ip', 'kube-proxy'])).stdout;
      await exec(['nft', '-f', '-'], nft.text);
      assert.equal(whole, (await run(['ip', 'netns', 'exec', ns, 'nft', 'list', 'table', 'ip', 'kube-proxy'])).stdout);
    });
  });
});
