import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HealthTracker } from './health.js';

void describe('HealthTracker (kube-proxy semantics)', () => {
  // Each step advances the clock, then acts, then states what /healthz says.
  const cases: { name: string; steps: [advanceMs: number, action: 'queued' | 'updated' | 'none', healthy: boolean][] }[] = [
    { name: 'healthy at start, before any sync', steps: [[0, 'none', true], [999_999, 'none', true]] },
    { name: 'idle after a sync stays healthy forever', steps: [[0, 'updated', true], [10 * 60_000, 'none', true]] },
    { name: 'a queued change is fine while younger than the timeout', steps: [[0, 'queued', true], [59_999, 'none', true]] },
    { name: 'a change waiting for the timeout turns it unhealthy', steps: [[0, 'queued', true], [60_000, 'none', false]] },
    { name: 'a sync after the change makes it healthy again', steps: [[0, 'queued', true], [70_000, 'none', false], [1, 'updated', true]] },
    {
      name: 'the oldest pending change counts, not the newest',
      steps: [[0, 'queued', true], [40_000, 'queued', true], [20_000, 'none', false]],
    },
    {
      name: 'a change queued after a sync starts a new clock',
      steps: [[0, 'queued', true], [50_000, 'updated', true], [5_000, 'queued', true], [59_999, 'none', true], [1, 'none', false]],
    },
  ];
  for (const c of cases) {
    void it(c.name, () => {
      let now = 1_700_000_000_000;
      const h = new HealthTracker({ staleAfterMs: 60_000, now: () => now });
      for (const [i, [advance, action, healthy]] of c.steps.entries()) {
        now += advance;
        if (action === 'queued') h.queued();
        if (action === 'updated') h.updated();
        assert.equal(h.healthy(), healthy, `step ${i}`);
        assert.equal(h.snapshot().healthy, healthy, `snapshot at step ${i}`);
      }
    });
  }

  void it('reports Go zero time before the first sync, then the sync time', () => {
    let now = Date.parse('2026-01-02T03:04:05.678Z');
    const h = new HealthTracker({ now: () => now });
    assert.deepEqual(h.snapshot(), {
      lastUpdated: '0001-01-01T00:00:00.000Z',
      currentTime: '2026-01-02T03:04:05.678Z',
      healthy: true,
    });
    h.updated();
    now += 1000;
    assert.deepEqual(h.snapshot(), {
      lastUpdated: '2026-01-02T03:04:05.678Z',
      currentTime: '2026-01-02T03:04:06.678Z',
      healthy: true,
    });
  });
});
