// A container's environment as a kubelet builds it: envFrom ConfigMaps, then
// env entries (literal values, the downward API's fieldRef, ConfigMap keys),
// later ones overriding earlier ones; then $(VAR) in the arguments is
// replaced with the value of VAR, `$$` stands for `$`, and a reference to an
// unknown variable stays as written (Kubernetes' expansion rules).
import type { V1Container, V1Pod } from '@kubernetes/client-node';

/** Reads a ConfigMap's data (binaryData decoded) from the API; undefined when it does not exist. */
export type ConfigMapReader = (namespace: string, name: string) => Promise<Record<string, Buffer> | undefined>;

function fieldRef(pod: V1Pod, path: string, hostIP: string, podIP: string): string {
  switch (path) {
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'metadata.name':
      return pod.metadata?.name ?? '';
    case 'metadata.namespace':
      return pod.metadata?.namespace ?? 'default';
    case 'metadata.uid':
      return pod.metadata?.uid ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? 'default';
    case 'status.hostIP':
      return hostIP;
    case 'status.podIP':
      return podIP;
    default:
      throw new Error(`fieldRef ${path} is not supported by the testbed kubelet`);
  }
}

export async function containerEnv(pod: V1Pod, c: V1Container, o: { configMap: ConfigMapReader; hostIP: string; podIP: string }): Promise<Record<string, string>> {
  const ns = pod.metadata?.namespace ?? 'default';
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? []) {
    if (!from.configMapRef) throw new Error(`container ${c.name}: envFrom supports configMapRef only in the testbed kubelet`);
    const data = await o.configMap(ns, from.configMapRef.name!);
    if (!data) {
      if (from.configMapRef.optional) continue;
      throw new Error(`container ${c.name}: ConfigMap ${ns}/${from.configMapRef.name} not found`);
    }
    for (const [k, v] of Object.entries(data)) env[`${from.prefix ?? ''}${k}`] = v.toString();
  }
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env[e.name] = expand(e.value, env);
    else if (e.valueFrom?.fieldRef) env[e.name] = fieldRef(pod, e.valueFrom.fieldRef.fieldPath, o.hostIP, o.podIP);
    else if (e.valueFrom?.configMapKeyRef) {
      const ref = e.valueFrom.configMapKeyRef;
      const v = (await o.configMap(ns, ref.name!))?.[ref.key];
      if (v !== undefined) env[e.name] = v.toString();
      else if (!ref.optional) throw new Error(`container ${c.name}: env ${e.name}: ConfigMap ${ns}/${ref.name} has no key ${ref.key}`);
    } else if (e.valueFrom) throw new Error(`container ${c.name}: env ${e.name}: only value, fieldRef and configMapKeyRef are supported by the testbed kubelet`);
    else env[e.name] = '';
  }
  return env;
}

/** Kubernetes' $(VAR) expansion of a command or argument. */
export function expand(text: string, env: Readonly<Record<string, string>>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name: string | undefined) => (m === '$$' ? '$' : name !== undefined && name in env ? env[name]! : m));
}
