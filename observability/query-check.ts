// Every PromQL expression Talaria ships (dashboard panels, alert rules),
// evaluated against a real Prometheus: a query that fails to parse is broken;
// one that comes back empty points at a metric name or label that the
// components do not export. `checkQueriesAgainst(url)` is reused by the
// testbed against a Prometheus scraping a running cluster.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export interface ShippedQuery {
  /** Where it comes from, e.g. `talaria-overview.json: "Sync duration" A`. */
  origin: string;
  /** The expression as shipped (Grafana variables unexpanded). */
  expr: string;
  kind: 'panel' | 'alert';
  /** Panels of the kube-proxy side of the comparison need a kube-proxy to have data. */
  needsKubeProxy: boolean;
  /** Dashboard variables to expand: name to the value to use when checking. */
  variables: Record<string, string>;
}

export interface QueryCheck extends ShippedQuery {
  /** What was sent to Prometheus. */
  evaluated: string;
  status: 'ok' | 'empty' | 'error';
  /** Error text, or which selectors returned no series. */
  detail: string;
}

export interface CheckOptions {
  queries?: ShippedQuery[];
  /** Value for $__rate_interval / $__interval; default 1m. */
  rateInterval?: string;
  /** Also require data for the kube-proxy side of the comparison dashboard. */
  includeKubeProxy?: boolean;
}

const here = dirname(fileURLToPath(import.meta.url));
/** The source tree's observability/ (JSON and YAML are not compiled into dist/). */
const sourceDir = here.includes('/dist/') ? here.replace('/dist/', '/') : here;

export function shippedQueries(dir = sourceDir): ShippedQuery[] {
  const out: ShippedQuery[] = [];
  const dashDir = join(dir, 'dashboards');
  for (const file of readdirSync(dashDir).filter((f) => f.endsWith('.json')).sort()) {
    const dash = JSON.parse(readFileSync(join(dashDir, file), 'utf8')) as GrafanaDashboard;
    const variables = dashboardVariables(dash);
    for (const panel of dash.panels ?? []) {
      for (const t of panel.targets ?? []) {
        if (!t.expr) continue;
        out.push({
          origin: `${file}: "${panel.title}" ${t.refId}`,
          expr: t.expr,
          kind: 'panel',
          needsKubeProxy: t.expr.includes('$kubeproxy_job'),
          variables,
        });
      }
    }
  }
  const alertsDir = join(dir, 'alerts');
  for (const file of readdirSync(alertsDir).filter((f) => f.endsWith('.rules.yaml')).sort()) {
    const rules = parse(readFileSync(join(alertsDir, file), 'utf8')) as { groups: { rules: { alert?: string; record?: string; expr: string }[] }[] };
    for (const r of rules.groups.flatMap((g) => g.rules)) {
      out.push({ origin: `${file}: ${r.alert ?? r.record}`, expr: r.expr.trim(), kind: 'alert', needsKubeProxy: false, variables: {} });
    }
  }
  return out;
}

export async function checkQueriesAgainst(prometheusUrl: string, opts: CheckOptions = {}): Promise<QueryCheck[]> {
  const rate = opts.rateInterval ?? '1m';
  const results: QueryCheck[] = [];
  for (const q of opts.queries ?? shippedQueries()) {
    const evaluated = expandVariables(q.expr, { ...q.variables, __rate_interval: rate, __interval: rate, __range: rate });
    const res = await instantQuery(prometheusUrl, evaluated);
    if (res.error !== undefined) {
      results.push({ ...q, evaluated, status: 'error', detail: res.error });
      continue;
    }
    if (q.needsKubeProxy && !opts.includeKubeProxy) {
      results.push({ ...q, evaluated, status: 'ok', detail: 'parsed (kube-proxy side, data not required)' });
      continue;
    }
    if (q.kind === 'panel') {
      results.push({ ...q, evaluated, status: res.series > 0 ? 'ok' : 'empty', detail: res.series > 0 ? `${res.series} series` : 'no series' });
      continue;
    }
    // An alert that does not fire is empty by design: require data for each
    // series it reads instead.
    const empty: string[] = [];
    for (const sel of vectorSelectors(evaluated)) {
      const r = await instantQuery(prometheusUrl, `count(${sel})`);
      if (r.error !== undefined || r.series === 0) empty.push(sel);
    }
    results.push({
      ...q,
      evaluated,
      status: empty.length === 0 ? 'ok' : 'empty',
      detail: empty.length === 0 ? `inputs present; firing now: ${res.series}` : `no series for ${empty.join(', ')}`,
    });
  }
  return results;
}

/** One line per query that failed or came back empty ('' when all are fine). */
export function describeProblems(results: QueryCheck[]): string {
  return results
    .filter((r) => r.status !== 'ok')
    .map((r) => `${r.status.toUpperCase()} ${r.origin}: ${r.detail}\n    ${r.evaluated.replace(/\s+/g, ' ')}`)
    .join('\n');
}

interface GrafanaDashboard {
  panels?: { title: string; targets?: { refId: string; expr?: string }[] }[];
  templating?: { list?: { name: string; type: string; allValue?: string; includeAll?: boolean; current?: { value?: string | string[] } }[] };
}

/** Values to check with: "All" for query variables, the default for custom ones. */
function dashboardVariables(dash: GrafanaDashboard): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of dash.templating?.list ?? []) {
    if (v.type === 'datasource') continue;
    if (v.includeAll) out[v.name] = v.allValue ?? '.*';
    else {
      const cur = v.current?.value;
      out[v.name] = Array.isArray(cur) ? (cur[0] ?? '') : (cur ?? '');
    }
  }
  return out;
}

/** Grafana's $var, ${var} and [[var]] forms. */
export function expandVariables(expr: string, values: Record<string, string>): string {
  return expr.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]/g, (m, a?: string, b?: string, c?: string) => {
    const name = a ?? b ?? c ?? '';
    return name in values ? values[name]! : m;
  });
}

const MODIFIERS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'atan2', 'inf', 'nan']);
// Aggregations may put `by (...)` between their name and their parenthesis.
const AGGREGATIONS = new Set(['sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk', 'quantile']);

/** The vector selectors an expression reads, e.g. `up{job="x"}` (a small PromQL scanner). */
export function vectorSelectors(expr: string): string[] {
  const out: string[] = [];
  let i = 0;
  const skipBlock = (open: string, close: string): string => {
    const start = i;
    let depth = 0;
    let quote = '';
    for (; i < expr.length; i++) {
      const ch = expr[i]!;
      if (quote) {
        if (ch === '\\') i++;
        else if (ch === quote) quote = '';
      } else if (ch === '"' || ch === "'" || ch === '`') quote = ch;
      else if (ch === open) depth++;
      else if (ch === close && --depth === 0) {
        i++;
        break;
      }
    }
    return expr.slice(start, i);
  };
  const skipSpace = (): void => {
    while (i < expr.length && /\s/.test(expr[i]!)) i++;
  };
  while (i < expr.length) {
    const ch = expr[i]!;
    if (ch === '"' || ch === "'" || ch === '`') {
      const q = ch;
      for (i++; i < expr.length && expr[i] !== q; i++) if (expr[i] === '\\') i++;
      i++;
    } else if (ch === '[') {
      skipBlock('[', ']');
    } else if (ch === '{') {
      out.push(skipBlock('{', '}'));
    } else if (/[a-zA-Z_:]/.test(ch)) {
      const m = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(expr.slice(i))!;
      const name = m[0];
      i += name.length;
      skipSpace();
      if (MODIFIERS.has(name)) {
        if (expr[i] === '(') skipBlock('(', ')');
      } else if (KEYWORDS.has(name.toLowerCase()) || AGGREGATIONS.has(name) || expr[i] === '(') {
        // an operator, or a function / aggregation name
      } else if (expr[i] === '{') {
        out.push(name + skipBlock('{', '}'));
      } else {
        out.push(name);
      }
    } else if (/[0-9.]/.test(ch)) {
      // numbers and durations like 5m, 1e3, 0.99
      const m = /^[0-9.]+(?:e[+-]?[0-9]+)?[a-z]*/i.exec(expr.slice(i))!;
      i += m[0].length;
    } else {
      i++;
    }
  }
  return [...new Set(out)];
}

async function instantQuery(base: string, query: string): Promise<{ series: number; error?: string }> {
  const res = await fetch(`${base}/api/v1/query`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ query }),
  });
  const body = (await res.json()) as { status: string; error?: string; data?: { resultType: string; result: unknown } };
  if (body.status !== 'success') return { series: 0, error: body.error ?? `HTTP ${res.status}` };
  const result = body.data?.result;
  return { series: body.data?.resultType === 'scalar' || body.data?.resultType === 'string' ? 1 : Array.isArray(result) ? result.length : 0 };
}
