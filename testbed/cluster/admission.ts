// Admission for the testbed's store: Services, Pods and Deployments are
// defaulted and validated, Services get their ClusterIP and NodePorts here
// (and give them back when deleted), as the real API server's registry does.
import { invalid } from '../apiserver/errors.js';
import type { FieldError } from '../apiserver/errors.js';
import type { ObjectStore } from '../apiserver/store.js';
import type { KubeObject, StoredObject } from '../apiserver/types.js';
import { AllocationError } from './ip-allocator.js';
import type { ClusterIpAllocator, NodePortAllocator } from './ip-allocator.js';
import { defaultDeployment, defaultPodSpec, defaultService, validateDeployment, validatePod, validateService } from './validation.js';

export interface ServiceAllocators {
  clusterIps: ClusterIpAllocator;
  nodePorts: NodePortAllocator;
}

interface PortSpec {
  name?: string;
  port?: number;
  protocol?: string;
  nodePort?: number;
}

function needsClusterIp(svc: KubeObject | undefined): boolean {
  return !!svc && svc.spec?.type !== 'ExternalName' && svc.spec?.clusterIP !== 'None';
}

function hasNodePorts(svc: KubeObject | undefined): boolean {
  return !!svc && (svc.spec?.type === 'NodePort' || svc.spec?.type === 'LoadBalancer');
}

function ports(svc: KubeObject | undefined): PortSpec[] {
  return Array.isArray(svc?.spec?.ports) ? (svc.spec.ports as PortSpec[]) : [];
}

function fail(svc: KubeObject, errs: FieldError[]): never {
  throw invalid('Service', String(svc.metadata.name ?? ''), errs);
}

/** Allocate what `svc` needs beyond what `old` holds; on failure give back what this call took. */
function allocate(a: ServiceAllocators, svc: KubeObject, old: KubeObject | undefined): void {
  const taken: Array<() => void> = [];
  try {
    if (needsClusterIp(svc)) {
      const want: string | undefined = svc.spec.clusterIP || undefined;
      const held = needsClusterIp(old) ? (old!.spec.clusterIP as string) : undefined;
      if (!want || want !== held) {
        let ip: string;
        try {
          ip = want ? a.clusterIps.allocate(want) : a.clusterIps.allocateNext();
        } catch (e) {
          if (e instanceof AllocationError) fail(svc, [{ field: 'spec.clusterIPs', reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify([want])}: failed to allocate IP ${want ?? ''}: ${e.message}` }]);
          throw e;
        }
        taken.push(() => a.clusterIps.release(ip));
        svc.spec.clusterIP = ip;
      }
      svc.spec.clusterIPs = [svc.spec.clusterIP];
    } else if (svc.spec?.clusterIP === 'None') {
      svc.spec.clusterIPs = ['None'];
    }
    if (hasNodePorts(svc)) {
      const heldPorts = new Set(hasNodePorts(old) ? ports(old).map((p) => p.nodePort).filter((n): n is number => !!n) : []);
      const inThisObject = new Set<number>();
      ports(svc).forEach((p, i) => {
        if (p.nodePort && (heldPorts.has(p.nodePort) || inThisObject.has(p.nodePort))) {
          // Two ports of one Service may share a NodePort only with different protocols, as in Kubernetes.
          inThisObject.add(p.nodePort);
          return;
        }
        try {
          const n = p.nodePort ? a.nodePorts.allocate(p.nodePort) : a.nodePorts.allocateNext();
          taken.push(() => a.nodePorts.release(n));
          p.nodePort = n;
          inThisObject.add(n);
        } catch (e) {
          if (e instanceof AllocationError) fail(svc, [{ field: `spec.ports[${i}].nodePort`, reason: 'FieldValueInvalid', message: `Invalid value: ${p.nodePort ?? 0}: ${e.message}` }]);
          throw e;
        }
      });
    } else {
      for (const p of ports(svc)) delete p.nodePort;
    }
  } catch (e) {
    for (const undo of taken) undo();
    throw e;
  }
}

/** Give back what `old` held and `svc` (the new state, or undefined when deleted) no longer does. */
function releaseUnused(a: ServiceAllocators, old: KubeObject, svc: KubeObject | undefined): void {
  if (needsClusterIp(old) && (!needsClusterIp(svc) || svc!.spec.clusterIP !== old.spec.clusterIP)) a.clusterIps.release(old.spec.clusterIP);
  if (hasNodePorts(old)) {
    const keep = new Set(hasNodePorts(svc) ? ports(svc).map((p) => p.nodePort) : []);
    for (const p of ports(old)) if (p.nodePort && !keep.has(p.nodePort)) a.nodePorts.release(p.nodePort);
  }
}

/**
 * Keep allocated values a client left out of an update (kubectl apply of a
 * manifest without clusterIP); drop NodePorts and externalTrafficPolicy the
 * client left unchanged when the type no longer has them (Kubernetes'
 * dropTypeDependentFields).
 */
function carryAllocated(svc: KubeObject, old: StoredObject): void {
  if (svc.spec?.type === 'ExternalName' && needsClusterIp(old) && svc.spec.clusterIP === old.spec.clusterIP) {
    delete svc.spec.clusterIP;
    delete svc.spec.clusterIPs;
  }
  if (!hasNodePorts(svc) && hasNodePorts(old)) {
    for (const p of ports(svc)) {
      if (p.nodePort && ports(old).some((o) => o.nodePort === p.nodePort)) delete p.nodePort;
    }
    if (svc.spec?.externalTrafficPolicy === old.spec?.externalTrafficPolicy) delete svc.spec.externalTrafficPolicy;
  }
  if (needsClusterIp(svc) && needsClusterIp(old) && !svc.spec.clusterIP) {
    svc.spec.clusterIP = old.spec.clusterIP;
    svc.spec.clusterIPs = old.spec.clusterIPs;
  }
  if (hasNodePorts(svc) && hasNodePorts(old)) {
    for (const p of ports(svc)) {
      if (p.nodePort) continue;
      const was = ports(old).find((o) => o.port === p.port && (o.protocol ?? 'TCP') === (p.protocol ?? 'TCP'));
      if (was?.nodePort) p.nodePort = was.nodePort;
    }
  }
}

/**
 * Install defaulting, validation and Service allocation on a store. Services
 * already in the store keep their addresses (they are marked allocated).
 * Returns the uninstall function.
 */
export function installAdmission(store: ObjectStore, a: ServiceAllocators): () => void {
  for (const svc of store.scan('services')) {
    if (needsClusterIp(svc) && a.clusterIps.contains(svc.spec.clusterIP)) {
      try {
        a.clusterIps.allocate(svc.spec.clusterIP);
      } catch {
        // already marked
      }
    }
    if (hasNodePorts(svc)) {
      for (const p of ports(svc)) {
        try {
          if (p.nodePort) a.nodePorts.allocate(p.nodePort);
        } catch {
          // already marked
        }
      }
    }
  }
  const offs = [
    store.addAdmission('services', {
      create(obj) {
        defaultService(obj);
        const errs = validateService(obj);
        if (errs.length) fail(obj, errs);
        allocate(a, obj, undefined);
      },
      update(obj, old) {
        defaultService(obj);
        carryAllocated(obj, old);
        const errs = validateService(obj, old);
        if (errs.length) fail(obj, errs);
        allocate(a, obj, old);
        releaseUnused(a, old, obj);
      },
      deleted(obj) {
        releaseUnused(a, obj, undefined);
      },
    }),
    store.addAdmission('pods', {
      create(obj) {
        defaultPodSpec(obj.spec);
        const errs = validatePod(obj);
        if (errs.length) throw invalid('Pod', String(obj.metadata.name), errs);
      },
      update(obj, old) {
        defaultPodSpec(obj.spec);
        const errs = validatePod(obj, old);
        if (errs.length) throw invalid('Pod', String(obj.metadata.name), errs);
      },
    }),
    store.addAdmission('deployments', {
      create(obj) {
        defaultDeployment(obj);
        const errs = validateDeployment(obj);
        if (errs.length) throw invalid('Deployment', String(obj.metadata.name), errs, 'apps');
      },
      update(obj, old) {
        defaultDeployment(obj);
        const errs = validateDeployment(obj, old);
        if (errs.length) throw invalid('Deployment', String(obj.metadata.name), errs, 'apps');
      },
    }),
  ];
  return () => {
    for (const off of offs) off();
  };
}
