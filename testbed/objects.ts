// Builders for the Kubernetes objects the testbed's users apply: the default
// workload, the benchmark's and the end-to-end suite's. One shape each, so a
// Deployment means the same thing wherever it is made.
import type { KubeObject } from './client.js';

export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol?: 'TCP' | 'UDP';
}

export interface DeploymentOptions {
  name: string;
  /** A built-in image: talaria/echo or nginx. */
  image: string;
  replicas: number;
  ports: ContainerPort[];
  /** Pod labels besides app=<name> (the selector). */
  labels?: Record<string, string>;
  terminationGracePeriodSeconds?: number;
  namespace?: string;
}

export function deployment(o: DeploymentOptions): KubeObject {
  const selector = { app: o.name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: o.name, namespace: o.namespace ?? 'default', labels: selector },
    spec: {
      replicas: o.replicas,
      selector: { matchLabels: selector },
      template: {
        metadata: { labels: { ...selector, ...o.labels } },
        spec: {
          ...(o.terminationGracePeriodSeconds === undefined ? {} : { terminationGracePeriodSeconds: o.terminationGracePeriodSeconds }),
          containers: [{ name: o.name, image: o.image, ports: o.ports.map((p) => ({ protocol: 'TCP', ...p })) }],
        },
      },
    },
  };
}

export function service(name: string, spec: Record<string, unknown>, metadata: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default', ...metadata }, spec };
}
