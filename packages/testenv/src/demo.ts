#!/usr/bin/env node
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from './binaries.js';
import { applyCrds } from './crds.js';
import { startEnvironment, writeEnvironmentFiles, type Environment } from './environment.js';
import { defaultDemoSteps } from './demoOperator.js';

/**
 * `npm run demo`: the local environment in this process, the CRDs installed, then whatever steps a
 * caller adds (the operator, example resources), until Ctrl-C. `--check` exits 0 once all is up.
 */
export interface DemoContext {
  env: Environment;
  /** CRD manifests applied. */
  crds: string[];
  /** Admin kubeconfig and shell env file written for the user (.testenv/demo/). */
  kubeconfig: string;
  envFile: string;
  log(line: string): void;
}

/** A demo step; it may return a function that undoes it (called in reverse order on exit). */
export type DemoStep = (ctx: DemoContext) => Promise<(() => Promise<void>) | void>;

export async function startDemo(steps: DemoStep[] = [], log: (line: string) => void = (l) => console.log(l)): Promise<{ ctx: DemoContext; stop(): Promise<void> }> {
  const started = Date.now();
  const env = await startEnvironment();
  const undo: Array<() => Promise<void>> = [() => env.stop()];
  const stop = async (): Promise<void> => {
    for (const u of undo.splice(0).reverse()) await u().catch((err: Error) => log(`stop: ${err.message}`));
  };
  try {
    const crds = await applyCrds(env.cp);
    const files = writeEnvironmentFiles(env, join(REPO_ROOT, '.testenv', 'demo'));
    const ctx: DemoContext = { env, crds, kubeconfig: files.kubeconfig, envFile: files.envFile, log };
    log(`Local control plane ${env.cp.server}, PostgreSQL ${env.pg.host}:${env.pg.port}, moto ${env.moto.endpoint} (up in ${((Date.now() - started) / 1000).toFixed(1)} s)`);
    log(`CRDs installed: ${crds.map((f) => f.split('/').pop()).join(', ')}`);
    for (const step of steps) {
      const u = await step(ctx);
      if (u) undo.push(u);
    }
    log('');
    log('In another shell:');
    log(`  source ${files.envFile}`);
    log('  kubectl get crds');
    log('  kubectl apply -f examples/   # once the operator runs');
    log('  psql -c "select version()"');
    return { ctx, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

export async function runDemo(argv: string[] = process.argv.slice(2), steps: DemoStep[] = []): Promise<number> {
  const { stop } = await startDemo(steps);
  if (argv.includes('--check')) {
    await stop();
    console.log('demo check: OK');
    return 0;
  }
  console.log('\nRunning; Ctrl-C stops everything.');
  // The children are unref'd and signal listeners do not keep Node alive: a timer does.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  clearInterval(keepAlive);
  console.log('\nstopping…');
  await stop();
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // The operator through its CLI on the demo's PostgreSQL, then examples/local.yaml until a login works.
  runDemo(process.argv.slice(2), defaultDemoSteps()).then((code) => process.exit(code), (err: Error) => {
    console.error(`demo failed: ${err.message}`);
    process.exit(1);
  });
}
