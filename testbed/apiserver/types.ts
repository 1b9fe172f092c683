// The shapes of Kubernetes objects as the store sees them: untyped beyond
// metadata, because the store serves every kind the same way. Typed views of
// the kinds the controllers read live beside those controllers.

/** An owner reference (metadata.ownerReferences[]). */
export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** metadata of every object; fields the store sets are optional on input. */
export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  [extra: string]: unknown;
}

/** Any Kubernetes object. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  status?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  [extra: string]: unknown;
}

/** A stored object: the store fills these metadata fields. */
export interface StoredObject extends KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta & { name: string; uid: string; resourceVersion: string; creationTimestamp: string };
}

/** A list as returned by list(). */
export interface ObjectList<T extends KubeObject = StoredObject> {
  apiVersion: string;
  kind: string;
  metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number };
  items: T[];
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

/** One change as the store records and streams it. */
export interface WatchEvent {
  type: Exclude<WatchEventType, 'BOOKMARK' | 'ERROR'>;
  /** The resource (plural, e.g. "pods"), for routing to watchers. */
  resource: string;
  /** The global resourceVersion of this change. */
  rv: number;
  /** The object after the change (for DELETED: its last state, with the deletion's resourceVersion). */
  object: StoredObject;
  /** The object before the change (MODIFIED and DELETED only). */
  oldObject?: StoredObject;
}
