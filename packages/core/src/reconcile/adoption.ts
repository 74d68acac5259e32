/**
 * Which existing roles and databases a CR may take over. By default none: a name that is taken
 * on the server gives Ready=False, reason NameTaken (see sql/ownership.ts). Adoption is allowed
 * only for
 *  - objects the Python operator managed (kopf's finalizer, annotations or status left on them),
 *  - objects this operator already had Ready before it marked what it creates (upgrade path),
 *  - an explicit opt-in: the annotation below, set by whoever may edit the CR.
 * Even then a superuser, a privileged role or a role marked for another object is never adopted.
 */
import type { ObjectMeta, ResourceStatus } from '../api/schema.js';
import type { Claim } from '../sql/ownership.js';
import { KOPF_FINALIZER } from './common.js';
import { readyCondition } from './status.js';

export const ADOPT_ANNOTATION = 'hybridcloud.maibornwolff.de/adopt';
const KOPF_ANNOTATION = 'kopf.zalando.org/last-handled-configuration';

export function adoptionAllowed(obj: { metadata: ObjectMeta; status?: ResourceStatus | undefined }): boolean {
  const m = obj.metadata;
  if (m.annotations?.[ADOPT_ANNOTATION]?.toLowerCase() === 'true') return true;
  if ((m.finalizers ?? []).includes(KOPF_FINALIZER) || m.annotations?.[KOPF_ANNOTATION] !== undefined) return true;
  const status = obj.status as (ResourceStatus & { kopf?: unknown }) | undefined;
  if (status?.kopf !== undefined) return true;
  return readyCondition(status)?.status === 'True';
}

export function claimFor(kind: Claim['kind'], obj: { metadata: ObjectMeta; status?: ResourceStatus | undefined }): Claim {
  return { kind, namespace: obj.metadata.namespace, name: obj.metadata.name, uid: obj.metadata.uid ?? '', adopt: adoptionAllowed(obj) };
}
