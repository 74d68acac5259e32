export { ServerReconciler } from './serverReconciler.js';
export { DatabaseReconciler } from './databaseReconciler.js';
export { createKubeAccess, type KubeAccess, type MetadataPatch, type Kind } from './kubeAccess.js';
export { WarningMemory, FINALIZER, KOPF_FINALIZER, ACTION_LABEL, RESET_PASSWORD, stateAnnotationPrefix } from './common.js';
export type { ReconcileDeps } from './deps.js';
export { createReconcilers, reconcilersFromContainer, type CreateReconcilersOptions } from './factory.js';
export { ADOPT_ANNOTATION, adoptionAllowed, claimFor } from './adoption.js';
export { pendingSecretName } from './passwords.js';
