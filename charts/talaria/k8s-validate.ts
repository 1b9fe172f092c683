// Offline validation of rendered Kubernetes objects against the API schemas,
// two ways, because each misses what the other catches:
//  - the JSON-schema validators of the npm `kubernetes-models` packages
//    (required fields, types, enums, formats), and
//  - a TypeScript type check of each object as an object literal typed with
//    the same packages' interfaces: excess-property checks reject unknown or
//    misspelled fields (`hostNetwrok: true`), which the OpenAPI schemas allow.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata?: { name?: string; namespace?: string };
  [key: string]: unknown;
}

interface Model {
  validate(): void;
}
type ModelClass = new (data: unknown) => Model;

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..').replace(/\/dist$/, '');

/** The module that defines kind at apiVersion, e.g. kubernetes-models/apps/v1/Deployment. */
export function modelModule(apiVersion: string, kind: string): string {
  if (apiVersion.startsWith('monitoring.coreos.com/')) return `@kubernetes-models/prometheus-operator/${apiVersion}/${kind}`;
  return `kubernetes-models/${apiVersion}/${kind}`;
}

export function describeObject(o: K8sObject): string {
  return `${o.kind} ${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name ?? '?'} (${o.apiVersion})`;
}

/** Schema errors per object (empty when all are valid). */
export async function validateWithSchemas(objects: K8sObject[]): Promise<string[]> {
  const errors: string[] = [];
  for (const o of objects) {
    let Model: ModelClass;
    try {
      const mod = (await import(modelModule(o.apiVersion, o.kind))) as Record<string, ModelClass>;
      Model = mod[o.kind]!;
      if (typeof Model !== 'function') throw new Error('no model class');
    } catch {
      errors.push(`${describeObject(o)}: no schema for this apiVersion/kind`);
      continue;
    }
    try {
      new Model(o).validate();
    } catch (err) {
      errors.push(`${describeObject(o)}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return errors;
}

/** TypeScript diagnostics of the objects typed with the API interfaces (empty when all conform). */
export function typeCheckObjects(objects: K8sObject[]): string[] {
  const lines: string[] = [];
  const names: string[] = [];
  objects.forEach((o, i) => {
    const iface = `I${o.kind}`;
    lines.push(`import type { ${iface} as T${i} } from '${modelModule(o.apiVersion, o.kind)}';`);
    names.push(`export const o${i}: T${i} = ${JSON.stringify(o, null, 1)};`);
  });
  const source = [...lines, ...names].join('\n');
  const file = join(repoRoot, 'charts', 'talaria', '__rendered_objects__.ts');
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
  host.getSourceFile = (name, lang, ...rest) =>
    name === file ? ts.createSourceFile(name, source, lang) : getSourceFile(name, lang, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === file || fileExists(name);
  const readFile = host.readFile.bind(host);
  host.readFile = (name) => (name === file ? source : readFile(name));
  const program = ts.createProgram([file], options, host);
  const diagnostics = ts.getPreEmitDiagnostics(program).filter((d) => d.file?.fileName === file || !d.file);
  return diagnostics.map((d) => {
    const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (!d.file || d.start === undefined) return text;
    // Name the object the error is in: the nearest `export const oN` above it.
    const before = source.slice(0, d.start);
    const m = [...before.matchAll(/export const o(\d+):/g)].pop();
    const where = m ? describeObject(objects[Number(m[1])]!) : 'imports';
    const { line } = d.file.getLineAndCharacterOfPosition(d.start);
    return `${where}: ${text.split('\n')[0]} (${source.split('\n')[line]?.trim()})`;
  });
}
