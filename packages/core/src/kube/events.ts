/** Kubernetes Events about our objects (events.k8s.io/v1 or core/v1, implementation's choice). */
export interface InvolvedObject {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
  uid?: string;
  resourceVersion?: string;
}

export interface EventRecorder {
  /** type: 'Normal' | 'Warning'; reason: CamelCase; message must never contain a secret. */
  record(obj: InvolvedObject, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void>;
}
