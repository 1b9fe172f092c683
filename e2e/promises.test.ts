import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serviceEntries } from './promises.js';
import { summarize } from './churn.js';

test('finds conntrack entries whose original destination is a ClusterIP', () => {
  const list = [
    'tcp      6 117 TIME_WAIT src=10.244.1.2 dst=10.96.0.10 sport=40000 dport=80 src=10.244.2.3 dst=10.244.1.2 sport=8080 dport=40000 [ASSURED] mark=0 use=1',
    'tcp      6 117 TIME_WAIT src=10.244.1.2 dst=10.244.2.3 sport=40001 dport=8080 src=10.244.2.3 dst=10.244.1.2 sport=8080 dport=40001 [ASSURED] mark=0 use=1',
    'udp      17 29 src=10.244.1.2 dst=10.111.255.1 sport=5000 dport=53 [UNREPLIED] src=10.244.3.4 dst=10.244.1.2 sport=5300 dport=5000 mark=0 use=1',
    'udp      17 29 src=10.244.1.2 dst=10.112.0.1 sport=5000 dport=53 [UNREPLIED] src=10.112.0.1 dst=10.244.1.2 sport=53 dport=5000 mark=0 use=1',
  ].join('\n');
  assert.equal(serviceEntries(list).length, 2);
});

test('churn summary separates surviving and scaled-away backends', () => {
  const r = summarize(
    [
      { firstPod: 'a', requests: 10, errors: 0, switches: 0, maxMs: 0 },
      { firstPod: 'b', requests: 10, errors: 1, switches: 0, maxMs: 0 },
      { firstPod: 'x', requests: 5, errors: 1, switches: 0, maxMs: 0 },
      { firstPod: 'y', requests: 5, errors: 0, switches: 0, maxMs: 0 },
      { firstPod: null, requests: 1, errors: 1, switches: 0, maxMs: 0 },
    ],
    new Set(['a', 'b']),
  );
  assert.deepEqual(r, { connections: 5, onSurvivors: 2, survivorErrors: 1, survivorSwitches: 0, onTerminated: 2, terminatedEndedWithPod: 1, neverAnswered: 1 });
});
