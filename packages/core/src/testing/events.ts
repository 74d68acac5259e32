/**
 * A minimal core/v1 EventRecorder for tests that drive reconcilers directly (the operator
 * process uses the controller runtime's recorder). Also remembers what it posted.
 */
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { EventRecorder, InvolvedObject } from '../kube/events.js';

export interface RecordedEvent {
  obj: InvolvedObject;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export class TestEventRecorder implements EventRecorder {
  readonly recorded: RecordedEvent[] = [];
  private readonly api: CoreV1Api | undefined;
  private n = 0;

  constructor(kc?: KubeConfig) {
    this.api = kc?.makeApiClient(CoreV1Api);
  }

  async record(obj: InvolvedObject, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    this.recorded.push({ obj, type, reason, message });
    if (!this.api) return;
    const now = new Date().toISOString();
    await this.api.createNamespacedEvent({
      namespace: obj.namespace,
      body: {
        metadata: { name: `${obj.name}.${Date.now().toString(16)}${(this.n++).toString(16)}`, namespace: obj.namespace },
        involvedObject: { apiVersion: obj.apiVersion, kind: obj.kind, name: obj.name, namespace: obj.namespace, ...(obj.uid ? { uid: obj.uid } : {}) },
        type,
        reason,
        message,
        firstTimestamp: now as unknown as Date,
        lastTimestamp: now as unknown as Date,
        count: 1,
        source: { component: 'hybrid-cloud-postgresql-operator-test' },
      },
    });
  }

  reasons(name?: string): string[] {
    return this.recorded.filter((e) => !name || e.obj.name === name).map((e) => e.reason);
  }
}
