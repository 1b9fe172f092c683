// A small typed builder for Grafana dashboard JSON (schemaVersion 39): the
// dashboards are generated from code so every panel follows the same rules
// (the `datasource` variable, never a datasource id; units; legends) and the
// queries can be listed for checking against a real Prometheus.

export const SCHEMA_VERSION = 39;

/** Every panel and query points at the dashboard's datasource variable. */
const DATASOURCE = { type: 'prometheus', uid: '${datasource}' } as const;

export interface Query {
  expr: string;
  legend?: string;
  /** Instant query (stat, bar gauge) instead of a range. */
  instant?: boolean;
}

export interface PanelSpec {
  title: string;
  description: string;
  queries: Query[];
  unit?: string;
  /** Grid width in 1/24ths; height in grid rows. */
  w?: number;
  h?: number;
  min?: number;
  max?: number;
  /** Stat/gauge colour steps: [value, colour], the first value is null (base). */
  thresholds?: [number | null, string][];
  /** Stat value texts, e.g. {0: 'Disconnected', 1: 'Connected'}. */
  valueText?: Record<number, string>;
  stack?: boolean;
}

type Json = Record<string, unknown>;

export interface Variable {
  name: string;
  label: string;
  /** label_values(...) query for a query variable; omitted for custom. */
  query?: string;
  /** Options of a custom variable (the first is the default). */
  options?: string[];
  multi?: boolean;
}

/** Lays panels out left to right, wrapping at 24 columns, rows full width. */
export class DashboardBuilder {
  private readonly panels: Json[] = [];
  private x = 0;
  private y = 0;
  private rowHeight = 0;
  private nextId = 1;

  constructor(
    private readonly uid: string,
    private readonly title: string,
    private readonly description: string,
    private readonly variables: Variable[] = [],
  ) {}

  row(title: string): this {
    this.newLine();
    this.panels.push({ id: this.nextId++, type: 'row', title, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y: this.y }, panels: [] });
    this.y += 1;
    return this;
  }

  timeseries(spec: PanelSpec): this {
    return this.add('timeseries', spec, {
      legend: { displayMode: 'list', placement: 'bottom', showLegend: true, calcs: [] },
      tooltip: { mode: 'multi', sort: 'desc' },
    }, {
      custom: {
        drawStyle: 'line',
        lineWidth: 1,
        fillOpacity: spec.stack ? 30 : 10,
        showPoints: 'never',
        spanNulls: false,
        stacking: { mode: spec.stack ? 'normal' : 'none', group: 'A' },
      },
    });
  }

  stat(spec: PanelSpec): this {
    return this.add('stat', { h: 4, w: 4, ...spec, queries: spec.queries.map((q) => ({ instant: true, ...q })) }, {
      reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
      colorMode: 'background',
      graphMode: 'none',
      justifyMode: 'auto',
      orientation: 'auto',
      textMode: 'auto',
    });
  }

  bargauge(spec: PanelSpec): this {
    return this.add('bargauge', { ...spec, queries: spec.queries.map((q) => ({ instant: true, ...q })) }, {
      reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
      displayMode: 'gradient',
      orientation: 'horizontal',
      showUnfilled: true,
    });
  }

  build(): Json {
    return {
      annotations: {
        list: [
          {
            builtIn: 1,
            datasource: { type: 'grafana', uid: '-- Grafana --' },
            enable: true,
            hide: true,
            iconColor: 'rgba(0, 211, 255, 1)',
            name: 'Annotations & Alerts',
            type: 'dashboard',
          },
        ],
      },
      description: this.description,
      editable: true,
      fiscalYearStartMonth: 0,
      graphTooltip: 1,
      links: [],
      panels: this.panels,
      refresh: '30s',
      schemaVersion: SCHEMA_VERSION,
      tags: ['talaria', 'kube-proxy', 'networking'],
      templating: {
        list: [
          {
            type: 'datasource',
            name: 'datasource',
            label: 'Data source',
            query: 'prometheus',
            hide: 0,
            includeAll: false,
            multi: false,
            options: [],
            refresh: 1,
            regex: '',
          },
          ...this.variables.map((v) => variableJson(v)),
        ],
      },
      time: { from: 'now-1h', to: 'now' },
      timepicker: {},
      timezone: 'browser',
      title: this.title,
      uid: this.uid,
      version: 1,
      weekStart: '',
    };
  }

  private add(type: string, spec: PanelSpec, options: Json, extraDefaults: Json = {}): this {
    const w = spec.w ?? 12;
    const h = spec.h ?? 8;
    if (this.x + w > 24) this.newLine();
    const steps = (spec.thresholds ?? [[null, 'green']]).map(([value, color]) => ({ value, color }));
    const mappings = spec.valueText
      ? [
          {
            type: 'value',
            options: Object.fromEntries(Object.entries(spec.valueText).map(([k, text], i) => [k, { text, index: i }])),
          },
        ]
      : [];
    this.panels.push({
      id: this.nextId++,
      type,
      title: spec.title,
      description: spec.description,
      datasource: DATASOURCE,
      gridPos: { h, w, x: this.x, y: this.y },
      fieldConfig: {
        defaults: {
          unit: spec.unit ?? 'short',
          ...(spec.min !== undefined ? { min: spec.min } : {}),
          ...(spec.max !== undefined ? { max: spec.max } : {}),
          color: { mode: spec.thresholds ? 'thresholds' : 'palette-classic' },
          thresholds: { mode: 'absolute', steps },
          mappings,
          ...extraDefaults,
        },
        overrides: [],
      },
      options,
      targets: spec.queries.map((q, i) => ({
        datasource: DATASOURCE,
        refId: String.fromCharCode(65 + i),
        expr: q.expr,
        legendFormat: q.legend ?? '__auto',
        range: !q.instant,
        instant: q.instant ?? false,
        editorMode: 'code',
      })),
    });
    this.x += w;
    this.rowHeight = Math.max(this.rowHeight, h);
    return this;
  }

  private newLine(): void {
    if (this.x > 0) {
      this.y += this.rowHeight;
      this.x = 0;
      this.rowHeight = 0;
    }
  }
}

function variableJson(v: Variable): Json {
  const base = { name: v.name, label: v.label, hide: 0, skipUrlSync: false };
  if (v.query !== undefined) {
    return {
      ...base,
      type: 'query',
      datasource: DATASOURCE,
      // The classic string form: every Grafana version since 7 reads it.
      query: v.query,
      refresh: 2,
      regex: '',
      sort: 1,
      multi: v.multi ?? true,
      includeAll: true,
      allValue: '.*',
      current: { selected: true, text: ['All'], value: ['$__all'] },
      options: [],
    };
  }
  const options = v.options ?? [];
  return {
    ...base,
    type: 'custom',
    query: options.join(','),
    multi: v.multi ?? false,
    includeAll: false,
    current: { selected: true, text: options[0] ?? '', value: options[0] ?? '' },
    options: options.map((o, i) => ({ selected: i === 0, text: o, value: o })),
  };
}
