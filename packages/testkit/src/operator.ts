/**
 * The operator in the test process, assembled the way the CLI assembles it: the config document
 * through core's startup (`prepare` validates it against the backend's own schema, `createBackends`
 * calls its `create()`), the DI container, and core's real controller manager and reconcilers
 * (`launchOperator`). Only difference to production: the backend sits behind a recording proxy,
 * and "kill" drops the process's work at once instead of ending a process.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import {
  createBackends, createContainer, createLogger, launchOperator, LoadedBackendRegistry, prepare, silentLogger,
  type BackendDefinition, type ConnectionResolver, type LaunchedOperator, type Logger, type OperatorConfig,
} from '@hybridcloud-postgresql/core';
import { type CallLog, recordBackend, type CrashPlan, type Recording } from './recordingBackend.js';

export interface KitOperatorOptions {
  kubeConfig: KubeConfig;
  definition: BackendDefinition;
  /** The operator config file's content (the kit adds watch namespace, leader election off, resync). */
  config: Record<string, unknown>;
  namespace: string;
  /** Environment the config is resolved with (`*_env` keys, HYBRIDCLOUD_* overrides). */
  env?: NodeJS.ProcessEnv;
  resolver?: ConnectionResolver;
  log?: CallLog;
  crash?: CrashPlan;
  resyncSeconds?: number;
}

export interface KitOperator {
  recording: Recording;
  config: OperatorConfig;
  /** Graceful stop, as on SIGTERM. */
  stop(): Promise<void>;
  /** The process dies: running work is dropped where it is, nothing more reaches Kubernetes or the backend. */
  kill(): Promise<void>;
}

function kitLogger(): Logger {
  return process.env['HC_TESTKIT_LOG'] ? createLogger({ level: process.env['HC_TESTKIT_LOG'] as 'debug' }) : silentLogger;
}

export async function startKitOperator(o: KitOperatorOptions): Promise<KitOperator> {
  const logger = kitLogger();
  const env = { ...(o.env ?? process.env), HYBRIDCLOUD_PLUGIN_PATHS: '' };
  const document = {
    ...o.config,
    operator: {
      ...((o.config['operator'] as Record<string, unknown> | undefined) ?? {}),
      watch_namespaces: [o.namespace],
      resync_seconds: o.resyncSeconds ?? 300,
      health_port: 0,
      leader_election: { enabled: false },
    },
  };
  const prepared = await prepare({ document, registered: [o.definition], searchRoots: [], env });
  for (const w of prepared.loaded.warnings) logger.warn({ warning: w }, 'config warning');
  const registry = await createBackends(prepared, { kubeConfig: o.kubeConfig, logger, ...(o.resolver ? { connectionResolver: o.resolver } : {}) });
  const { config } = prepared.loaded;
  const inner = registry.get(o.definition.id);
  if (!inner) throw new Error(`testkit: backend '${o.definition.id}' was not created: is it the config's backend or in allowed_backends?`);
  const recording = recordBackend(inner, o.log);
  if (o.crash) recording.crash = o.crash;
  const container = createContainer({
    config,
    kubeConfig: o.kubeConfig,
    logger,
    registry: new LoadedBackendRegistry(config.backend, config.allowed_backends, new Map([[inner.id, recording.backend]])),
    ...(o.resolver ? { connectionResolver: o.resolver } : {}),
  });
  let running: LaunchedOperator | undefined = await launchOperator(container, { healthPort: 0, shutdownGraceMs: 2_000 });
  const end = async (kill: boolean) => {
    const r = running;
    running = undefined;
    if (!r) return;
    if (kill) r.abort.abort();
    await r.handle.stop({ release: !kill });
    r.abort.abort();
    await r.sql.close().catch(() => undefined);
    await inner.close?.().catch(() => undefined);
  };
  return { recording, config, stop: () => end(false), kill: () => end(true) };
}
