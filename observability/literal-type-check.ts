// Checks JSON data against TypeScript types published by the projects that
// define the formats (kubernetes-models for Kubernetes objects, @grafana/schema
// for dashboards): each value becomes an object literal typed with the
// interface, and TypeScript's excess-property checks reject unknown or
// misspelt fields at every depth, which OpenAPI/JSON schemas usually allow.
// Offline and in-process: the generated file is virtual.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export interface TypedLiteral {
  /** Named in the diagnostics, e.g. "DaemonSet kube-system/talaria-node-agent". */
  label: string;
  /** Module that exports the type, e.g. kubernetes-models/apps/v1/Deployment. */
  module: string;
  /** Exported type name, e.g. IDeployment. */
  type: string;
  value: unknown;
}

const here = dirname(fileURLToPath(import.meta.url));
// Module resolution starts from the repository (node_modules), also from dist/.
const repoRoot = join(here, '..').replace(/\/dist$/, '');

/** One line per type error, naming the literal and the offending line; empty when all conform. */
export function typeCheckLiterals(literals: TypedLiteral[]): string[] {
  const imports = literals.map((l, i) => `import type { ${l.type} as T${i} } from '${l.module}';`);
  const decls = literals.map((l, i) => `export const v${i}: J<T${i}> = ${JSON.stringify(l.value, null, 1)};`);
  // JSON cannot name a TypeScript string enum member: accept its string value.
  const jsonify = 'type J<T> = T extends string ? `${T}` : T extends readonly (infer U)[] ? J<U>[] : T extends object ? { [K in keyof T]: J<T[K]> } : T;';
  const source = [...imports, jsonify, ...decls].join('\n');
  const file = join(repoRoot, 'observability', '__typed_literals__.ts');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, ...rest) => (name === file ? ts.createSourceFile(name, source, lang) : getSourceFile(name, lang, ...rest));
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === file || fileExists(name);
  const readFile = host.readFile.bind(host);
  host.readFile = (name) => (name === file ? source : readFile(name));
  const program = ts.createProgram([file], options, host);
  const lines = source.split('\n');
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file?.fileName === file || !d.file)
    .map((d) => {
      const text = ts.flattenDiagnosticMessageText(d.messageText, '\n').split('\n')[0]!;
      if (!d.file || d.start === undefined) return text;
      // The literal the error is in: the nearest `export const vN` above it.
      const m = [...source.slice(0, d.start).matchAll(/export const v(\d+):/g)].pop();
      const where = m ? literals[Number(m[1])]!.label : 'imports';
      return `${where}: ${text} (${lines[d.file.getLineAndCharacterOfPosition(d.start).line]?.trim()})`;
    });
}
