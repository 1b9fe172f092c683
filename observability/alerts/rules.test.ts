// The alert rules checked by the real Prometheus tooling (Debian's promtool),
// plus what promtool cannot know: every alert is documented, has a runbook
// section, and has unit tests that fire and stay quiet.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { HOST_DROP_REASONS } from '../../bpf/layouts/host-maps.js';
import { DROP_REASONS } from '../../bpf/layouts/switch-maps.js';

// Tests run from sources (observability/alerts) and from dist/: the YAML and
// README are not compiled, so find them in the source tree.
const here = dirname(fileURLToPath(import.meta.url));
const alertsDir = here.includes('/dist/') ? here.replace('/dist/', '/') : here;
const rulesFile = join(alertsDir, 'talaria.rules.yaml');
const testsFile = join(alertsDir, 'talaria.rules.test.yaml');
const readme = readFileSync(join(alertsDir, '..', 'README.md'), 'utf8');

interface Rule {
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface PromtoolTest {
  name: string;
  alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[];
}

const rules = (parse(readFileSync(rulesFile, 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules);
const alerts = rules.filter((r) => r.alert !== undefined);

function promtool(...args: string[]): string {
  try {
    return execFileSync('promtool', args, { cwd: alertsDir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    assert.fail(`promtool ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? e.message}`);
  }
}

void describe('alert rules', () => {
  void it('pass promtool check rules', () => {
    assert.match(promtool('check', 'rules', rulesFile), /SUCCESS: \d+ rules found/);
  });

  void it('pass their promtool unit tests', () => {
    promtool('test', 'rules', testsFile);
  });

  void it('cover the alerts the issue asks for', () => {
    assert.deepEqual(alerts.map((a) => a.alert).sort(), [
      'TalariaConnectionMapNearlyFull',
      'TalariaControllerDown',
      'TalariaDropsRising',
      'TalariaNetworkProgrammingLatencyHigh',
      'TalariaNoLeader',
      'TalariaNodeAgentDown',
      'TalariaNodeAgentNotReady',
      'TalariaSwitchTableNearlyFull',
      'TalariaSwitchUnreachable',
      'TalariaSyncsFailing',
    ]);
  });

  for (const a of alerts) {
    void it(`${a.alert} has severity, summary, description and a runbook section`, () => {
      assert.match(a.labels?.severity ?? '', /^(critical|warning)$/);
      assert.ok(a.annotations?.summary, 'summary');
      assert.ok(a.annotations?.description, 'description');
      const anchor = a.alert!.toLowerCase();
      assert.match(a.annotations?.runbook_url ?? '', new RegExp(`/observability/README\\.md#${anchor}$`));
      assert.match(readme, new RegExp(`^### ${a.alert}$`, 'm'), `README.md has a "### ${a.alert}" section`);
    });
  }

  void it('each alert has a unit test that fires and one that stays quiet', () => {
    const tests = (parse(readFileSync(testsFile, 'utf8')) as { tests: PromtoolTest[] }).tests;
    const cases = tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const a of alerts) {
      const mine = cases.filter((c) => c.alertname === a.alert);
      assert.ok(mine.some((c) => (c.exp_alerts ?? []).length > 0), `${a.alert}: a case that fires`);
      assert.ok(mine.some((c) => (c.exp_alerts ?? []).length === 0), `${a.alert}: a case that stays quiet`);
    }
  });

  void it('the drops runbook explains every drop reason the node and switch programs count', () => {
    const section = readme.slice(readme.indexOf('### TalariaDropsRising'), readme.indexOf('### TalariaConnectionMapNearlyFull'));
    for (const reason of [...HOST_DROP_REASONS.filter((r) => r !== 'none'), ...Object.values(DROP_REASONS)]) {
      assert.ok(section.includes(`\`${reason}\``), `runbook names drop reason ${reason}`);
    }
  });
});
