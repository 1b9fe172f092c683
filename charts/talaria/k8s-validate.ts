// Offline validation of rendered Kubernetes objects against the API schemas,
// two ways, because each misses what the other catches:
//  - the JSON-schema validators of the npm `kubernetes-models` packages
//    (required fields, types, enums, formats), and
//  - a TypeScript type check of each object as an object literal typed with
//    the same packages' interfaces: excess-property checks reject unknown or
//    misspelled fields (`hostNetwrok: true`), which the OpenAPI schemas allow.
import { typeCheckLiterals } from '../../observability/literal-type-check.js';

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

/** The module that defines kind at apiVersion, e.g. kubernetes-models/apps/v1/Deployment. */
export function modelModule(apiVersion: string, kind: string): string {
  if (apiVersion.startsWith('monitoring.coreos.com/')) return `@kubernetes-models/prometheus-operator/${apiVersion}/${kind}`;
  if (apiVersion.startsWith('cert-manager.io/')) return `@kubernetes-models/cert-manager/${apiVersion}/${kind}`;
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
  return typeCheckLiterals(
    objects.map((o) => ({ label: describeObject(o), module: modelModule(o.apiVersion, o.kind), type: `I${o.kind}`, value: o })),
  );
}
