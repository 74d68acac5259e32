/**
 * The Kubernetes objects an in-cluster backend reads or owns besides the helm release: the
 * StatefulSets (readiness), the admin Secret the chart reads, and the release's volume claims.
 */
import { AppsV1Api, CoreV1Api, type KubeConfig, type V1PersistentVolumeClaim, type V1StatefulSet } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { retryable } from '@hybridcloud-postgresql/core';

export function isNotFound(err: unknown): boolean {
  const e = err as { code?: number; statusCode?: number; response?: { statusCode?: number }; body?: unknown } | undefined;
  return e?.code === 404 || e?.statusCode === 404 || e?.response?.statusCode === 404;
}

export function isConflict(err: unknown): boolean {
  const e = err as { code?: number; statusCode?: number } | undefined;
  return e?.code === 409 || e?.statusCode === 409;
}

function kubeError(what: string, err: unknown): Error {
  return retryable(`${what}: ${(err as Error)?.message ?? String(err)}`, err, 'KubernetesApiError');
}

export interface StatefulSetReadiness {
  name: string;
  desired: number;
  ready: number;
  /** The controller has seen the current spec and every replica runs it. */
  current: boolean;
}

export function statefulSetReadiness(sts: V1StatefulSet): StatefulSetReadiness {
  const desired = sts.spec?.replicas ?? 1;
  const st = sts.status;
  const ready = st?.readyReplicas ?? 0;
  const generationSeen = (st?.observedGeneration ?? 0) >= (sts.metadata?.generation ?? 0);
  const updated = st?.updateRevision === undefined || st.currentRevision === undefined || st.updateRevision === st.currentRevision || (st.updatedReplicas ?? 0) >= desired;
  return { name: sts.metadata?.name ?? '', desired, ready, current: generationSeen && updated };
}

export function isReady(r: StatefulSetReadiness): boolean {
  return r.current && r.ready >= r.desired;
}

/** Where the volume claims of one StatefulSet live: `<template>-<statefulset>-<ordinal>`, carrying its selector labels. */
export interface ClaimSelector {
  statefulSet: string;
  templates: string[];
  matchLabels: Record<string, string>;
}

/** The StatefulSets a rendered helm manifest contains, as claim selectors. */
export function claimSelectorsFromManifest(manifest: string): ClaimSelector[] {
  const out: ClaimSelector[] = [];
  for (const doc of parseAllDocuments(manifest)) {
    const o = doc.toJS() as V1StatefulSet | null;
    if (!o || o.kind !== 'StatefulSet' || !o.metadata?.name) continue;
    out.push({
      statefulSet: o.metadata.name,
      templates: (o.spec?.volumeClaimTemplates ?? []).map((t) => t.metadata?.name ?? '').filter((n) => n),
      matchLabels: o.spec?.selector?.matchLabels ?? {},
    });
  }
  return out;
}

export function claimBelongsTo(pvc: V1PersistentVolumeClaim, sel: ClaimSelector): boolean {
  const name = pvc.metadata?.name ?? '';
  const labels = pvc.metadata?.labels ?? {};
  const nameMatches = sel.templates.some((t) => new RegExp(`^${escapeRegExp(t)}-${escapeRegExp(sel.statefulSet)}-\\d+$`).test(name));
  const labelsMatch = Object.entries(sel.matchLabels).every(([k, v]) => labels[k] === v);
  return nameMatches && labelsMatch;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export class ClusterObjects {
  readonly apps: AppsV1Api;
  readonly core: CoreV1Api;

  constructor(kubeConfig: KubeConfig) {
    this.apps = kubeConfig.makeApiClient(AppsV1Api);
    this.core = kubeConfig.makeApiClient(CoreV1Api);
  }

  async statefulSet(namespace: string, name: string): Promise<V1StatefulSet | undefined> {
    try {
      return await this.apps.readNamespacedStatefulSet({ name, namespace });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw kubeError(`Reading StatefulSet ${namespace}/${name} failed`, err);
    }
  }

  async statefulSets(namespace: string, labelSelector: string): Promise<V1StatefulSet[]> {
    try {
      return (await this.apps.listNamespacedStatefulSet({ namespace, labelSelector })).items;
    } catch (err) {
      throw kubeError(`Listing StatefulSets in ${namespace} failed`, err);
    }
  }

  async secretData(namespace: string, name: string): Promise<Record<string, string> | undefined> {
    try {
      const s = await this.core.readNamespacedSecret({ name, namespace });
      return Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw kubeError(`Reading Secret ${namespace}/${name} failed`, err);
    }
  }

  /**
   * Creates or replaces a Secret the operator owns (labels say who manages it). Deliberately no owner
   * reference: it must outlive the CR when the volumes it opens are kept. Only the given keys are kept.
   */
  async writeOwnedSecret(namespace: string, name: string, data: Record<string, string>, labels: Record<string, string>): Promise<void> {
    const body = {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: {
        name,
        namespace,
        labels: { 'app.kubernetes.io/managed-by': 'hybrid-cloud-postgresql-operator', ...labels },
      },
      data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')])),
    };
    try {
      const existing = await this.core.readNamespacedSecret({ name, namespace });
      await this.core.replaceNamespacedSecret({ name, namespace, body: { ...body, metadata: { ...body.metadata, resourceVersion: existing.metadata?.resourceVersion } } });
    } catch (err) {
      if (!isNotFound(err)) throw kubeError(`Writing Secret ${namespace}/${name} failed`, err);
      try {
        await this.core.createNamespacedSecret({ namespace, body });
      } catch (err2) {
        throw kubeError(`Creating Secret ${namespace}/${name} failed`, err2);
      }
    }
  }

  async deleteSecret(namespace: string, name: string): Promise<void> {
    try {
      await this.core.deleteNamespacedSecret({ name, namespace });
    } catch (err) {
      if (!isNotFound(err)) throw kubeError(`Deleting Secret ${namespace}/${name} failed`, err);
    }
  }

  /** Volume claims of the given StatefulSets (by name pattern and selector labels, both). */
  async claimsOf(namespace: string, selectors: ClaimSelector[]): Promise<V1PersistentVolumeClaim[]> {
    if (selectors.length === 0) return [];
    let items: V1PersistentVolumeClaim[];
    try {
      items = (await this.core.listNamespacedPersistentVolumeClaim({ namespace })).items;
    } catch (err) {
      throw kubeError(`Listing PersistentVolumeClaims in ${namespace} failed`, err);
    }
    return items.filter((pvc) => selectors.some((sel) => claimBelongsTo(pvc, sel)));
  }

  async deleteClaim(namespace: string, name: string): Promise<void> {
    try {
      await this.core.deleteNamespacedPersistentVolumeClaim({ name, namespace });
    } catch (err) {
      if (!isNotFound(err)) throw kubeError(`Deleting PersistentVolumeClaim ${namespace}/${name} failed`, err);
    }
  }
}
