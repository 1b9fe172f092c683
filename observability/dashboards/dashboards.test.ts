import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dashboards } from './definitions.js';
import { typeCheckLiterals } from '../literal-type-check.js';

const here = dirname(fileURLToPath(import.meta.url));
const dir = here.includes('/dist/') ? here.replace('/dist/', '/') : here;

interface Panel {
  id: number;
  type: string;
  title: string;
  description?: string;
  datasource?: { type: string; uid: string };
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: { expr: string; refId: string; datasource: { uid: string } }[];
}

void describe('Grafana dashboards', () => {
  for (const [file, generated] of Object.entries(dashboards())) {
    void describe(file, () => {
      const committed = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Record<string, unknown>;
      const panels = committed.panels as Panel[];

      void it('is what definitions.ts generates (run observability/dashboards/generate.ts)', () => {
        assert.deepEqual(committed, generated);
      });

      void it('uses the current schema and a datasource variable, never a datasource id', () => {
        assert.ok((committed.schemaVersion as number) >= 39);
        const vars = (committed.templating as { list: { name: string; type: string; query: string }[] }).list;
        assert.deepEqual(vars[0], { ...vars[0], name: 'datasource', type: 'datasource', query: 'prometheus' });
        assert.doesNotMatch(JSON.stringify(committed), /"__inputs"|"datasourceId"|\$\{DS_/);
        for (const p of panels.filter((x) => x.type !== 'row')) {
          assert.equal(p.datasource?.uid, '${datasource}', `panel "${p.title}"`);
          for (const t of p.targets ?? []) assert.equal(t.datasource.uid, '${datasource}', `panel "${p.title}" ${t.refId}`);
        }
      });

      void it("conforms to Grafana's own dashboard types (@grafana/schema), no unknown fields", () => {
        assert.deepEqual(typeCheckLiterals([{ label: file, module: '@grafana/schema', type: 'Dashboard', value: committed }]), []);
      });

      void it('has unique panel ids, a description per panel, and fits the 24-column grid without overlaps', () => {
        assert.equal(new Set(panels.map((p) => p.id)).size, panels.length);
        const taken = new Set<string>();
        for (const p of panels) {
          if (p.type !== 'row') assert.ok(p.description, `panel "${p.title}" has a description`);
          assert.ok(p.gridPos.x >= 0 && p.gridPos.x + p.gridPos.w <= 24, `panel "${p.title}" within 24 columns`);
          for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++) {
            for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
              assert.ok(!taken.has(`${x},${y}`), `panel "${p.title}" overlaps another at ${x},${y}`);
              taken.add(`${x},${y}`);
            }
          }
        }
      });
    });
  }

  void it('the type check catches a misspelt panel field', () => {
    const d = structuredClone(dashboards()['talaria-overview.json']!) as { panels: Record<string, unknown>[] };
    d.panels[1]!.gridPoss = d.panels[1]!.gridPos;
    assert.match(typeCheckLiterals([{ label: 'x', module: '@grafana/schema', type: 'Dashboard', value: d }]).join('\n'), /"gridPoss"' does not exist/);
  });

  void it('overview covers what the issue lists', () => {
    const titles = (dashboards()['talaria-overview.json']!.panels as Panel[]).map((p) => p.title);
    for (const want of [
      'Network programming latency',
      'Sync duration',
      'Sync rate',
      'Switch table occupancy',
      'Switch table entries and capacity',
      'Leader and switch connection',
      'Drops by reason',
      'Connection-map entries',
      'BPF CPU per node',
    ]) {
      assert.ok(titles.includes(want), want);
    }
  });

  void it('comparison shows each shared metric for both Talaria and kube-proxy with the same query', () => {
    const panels = (dashboards()['talaria-vs-kube-proxy.json']!.panels as Panel[]).filter((p) => p.type !== 'row');
    const talaria = panels.filter((p) => p.title.endsWith(': Talaria'));
    assert.ok(talaria.length >= 6);
    for (const t of talaria) {
      const k = panels.find((p) => p.title === t.title.replace(': Talaria', ': kube-proxy'));
      assert.ok(k, `kube-proxy twin of "${t.title}"`);
      const shape = (p: Panel): string[] => (p.targets ?? []).map((x) => x.expr.replace(/\{[^}]*\}/g, '{}'));
      assert.deepEqual(shape(k), shape(t));
    }
  });
});
