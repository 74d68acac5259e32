#!/usr/bin/env node
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureBinaries, REPO_ROOT } from './binaries.js';
import { startEnvironment, writeEnvironmentFiles } from './environment.js';
import { motoServerPath } from './moto.js';
import { pgBinDir } from './postgres.js';
import { isAlive, killGroup } from './processes.js';
import { runTool } from './tools.js';

/**
 * `testenv up|down|status`. `up` starts a detached daemon (`testenv serve`) that owns the child
 * processes and supervises them; the CLI talks to it only through .testenv/state.json and signals.
 */
const DIR = process.env['TESTENV_DIR'] ?? join(REPO_ROOT, '.testenv');
const STATE = join(DIR, 'state.json');
const LOGS = join(DIR, 'logs');

interface State {
  daemonPid: number;
  status: 'starting' | 'ready' | 'failed';
  startedAt: string;
  error?: string;
  server?: string;
  processes?: Array<{ name: string; pid: number; endpoint: string }>;
  envFile?: string;
  kubeconfig?: string;
}

function readState(): State | undefined {
  try {
    return JSON.parse(readFileSync(STATE, 'utf8')) as State;
  } catch {
    return undefined;
  }
}
const writeState = (s: State): void => writeFileSync(STATE, JSON.stringify(s, null, 2) + '\n');
const say = (line: string): void => void process.stderr.write(`${line}\n`);

async function up(): Promise<number> {
  const state = readState();
  if (state && isAlive(state.daemonPid) && state.status === 'ready') {
    say(`testenv is already up (daemon pid ${state.daemonPid}); reusing it`);
    process.stdout.write(readFileSync(state.envFile!, 'utf8'));
    return 0;
  }
  if (state) cleanUp(state); // a dead or half-started daemon: clear its leftovers first
  // Prerequisites in the foreground, so the user sees builds and missing tools here, not in a log.
  await ensureBinaries();
  await pgBinDir();
  await motoServerPath();

  mkdirSync(LOGS, { recursive: true });
  const logFile = join(LOGS, 'daemon.log');
  const out = openSync(logFile, 'w');
  const daemon = spawn(process.execPath, [fileURLToPath(import.meta.url), 'serve'], { detached: true, stdio: ['ignore', out, out], env: process.env });
  daemon.unref();
  const deadline = Date.now() + 180_000;
  for (;;) {
    const s = readState();
    if (s && s.daemonPid === daemon.pid && s.status === 'ready') {
      say(`testenv up (daemon pid ${daemon.pid}, logs in ${LOGS}); source ${s.envFile}:`);
      process.stdout.write(readFileSync(s.envFile!, 'utf8'));
      return 0;
    }
    if (!isAlive(daemon.pid!) || s?.status === 'failed' || Date.now() > deadline) {
      say(`testenv up failed${s?.error ? `: ${s.error}` : ''}; last lines of ${logFile}:`);
      say(readFileSync(logFile, 'utf8').split('\n').slice(-25).join('\n'));
      killGroup(daemon.pid, 'SIGTERM');
      return 1;
    }
    await sleep(200);
  }
}

async function serve(): Promise<void> {
  mkdirSync(LOGS, { recursive: true });
  const startedAt = new Date().toISOString();
  writeState({ daemonPid: process.pid, status: 'starting', startedAt });
  let stopping = false;
  const env = await startEnvironment({
    logDir: LOGS,
    onUnexpectedExit: (err) => {
      // One dead component makes the set useless; say which and why, then take the rest down.
      say(`[testenv] ${err.message}`);
      writeState({ ...(readState() ?? { daemonPid: process.pid, startedAt }), status: 'failed', error: err.message.split('\n')[0]! });
      void shutdown(1);
    },
  });
  const files = writeEnvironmentFiles(env, DIR);
  writeState({
    daemonPid: process.pid,
    status: 'ready',
    startedAt,
    server: env.cp.server,
    processes: [
      { name: 'etcd', pid: readInfo(env.cp.dir).pids.etcd, endpoint: readInfo(env.cp.dir).etcdEndpoint },
      { name: 'kube-apiserver', pid: readInfo(env.cp.dir).pids.kubeApiserver, endpoint: env.cp.server },
      ...(readInfo(env.cp.dir).pids.kubeControllerManager ? [{ name: 'kube-controller-manager', pid: readInfo(env.cp.dir).pids.kubeControllerManager!, endpoint: '' }] : []),
      { name: 'postgres', pid: env.pg.pid, endpoint: `${env.pg.host}:${env.pg.port}` },
      { name: 'moto_server', pid: env.moto.pid, endpoint: env.moto.endpoint },
    ],
    envFile: files.envFile,
    kubeconfig: files.kubeconfig,
  });
  say(`[testenv] ready at ${new Date().toISOString()}`);
  async function shutdown(code: number): Promise<void> {
    if (stopping) return;
    stopping = true;
    await env.stop();
    if (code === 0) removeFiles();
    process.exit(code);
  }
  process.on('SIGTERM', () => void shutdown(0));
  process.on('SIGINT', () => void shutdown(0));
  setInterval(() => {}, 1 << 30); // stay alive until told otherwise
}

const readInfo = (dir: string): { pids: { etcd: number; kubeApiserver: number; kubeControllerManager?: number }; etcdEndpoint: string } =>
  JSON.parse(readFileSync(join(dir, 'controlplane.json'), 'utf8')) as never;

function removeFiles(): void {
  for (const f of ['state.json', 'env', 'kubeconfig', 'bin']) rmSync(join(DIR, f), { recursive: true, force: true });
}

/** Kills whatever a state file still names (daemon and each child's process group). */
function cleanUp(state: State): void {
  killGroup(state.daemonPid, 'SIGKILL');
  for (const p of state.processes ?? []) killGroup(p.pid, 'SIGKILL');
  removeFiles();
}

async function down(): Promise<number> {
  const state = readState();
  if (!state) {
    say('testenv is not running');
    return 0;
  }
  if (isAlive(state.daemonPid)) {
    process.kill(state.daemonPid, 'SIGTERM');
    for (let i = 0; i < 150 && isAlive(state.daemonPid); i++) await sleep(100);
  }
  cleanUp(state); // whatever survived the graceful stop (or was orphaned by a killed daemon)
  const left = [state.daemonPid, ...(state.processes ?? []).map((p) => p.pid)].filter(isAlive);
  if (left.length) {
    say(`testenv down: processes still alive: ${left.join(', ')}`);
    return 1;
  }
  say('testenv down: everything stopped');
  return 0;
}

async function status(): Promise<number> {
  const state = readState();
  if (!state) {
    say('testenv is not running (no .testenv/state.json)');
    return 1;
  }
  const mark = (pid: number): string => (isAlive(pid) ? 'alive' : 'DEAD');
  console.log(`testenv ${state.status} since ${state.startedAt}${state.error ? ` — ${state.error}` : ''}`);
  console.log(`  daemon          pid ${String(state.daemonPid).padEnd(8)} ${mark(state.daemonPid)}`);
  for (const p of state.processes ?? []) console.log(`  ${p.name.padEnd(15)} pid ${String(p.pid).padEnd(8)} ${mark(p.pid).padEnd(6)} ${p.endpoint}`);
  let healthy = state.status === 'ready' && [state.daemonPid, ...(state.processes ?? []).map((p) => p.pid)].every(isAlive);
  if (state.kubeconfig && existsSync(state.kubeconfig) && healthy) {
    const kubectl = join(DIR, 'bin', 'kubectl');
    const ready = await runTool(kubectl, ['--kubeconfig', state.kubeconfig, 'get', '--raw', '/readyz'], { timeoutMs: 10_000 }).then((r) => r.stdout.trim(), (e: Error) => e.message);
    console.log(`  kube-apiserver /readyz: ${ready}`);
    healthy = ready === 'ok';
  }
  if (state.envFile) console.log(`  env: source ${state.envFile}`);
  return healthy ? 0 : 1;
}

/**
 * `testenv prepare`: everything the tests and the demo need, before any of them starts (npm test and
 * npm run demo run it first), so a cold machine spends its build minutes here, with progress lines,
 * instead of inside a test hook's timeout.
 */
async function prepare(): Promise<number> {
  const started = Date.now();
  await Promise.all([ensureBinaries(), pgBinDir(), motoServerPath()]);
  say(`[testenv] prerequisites ready in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return 0;
}

async function main(argv: string[]): Promise<number> {
  switch (argv[0]) {
    case 'up': return up();
    case 'down': return down();
    case 'status': return status();
    case 'prepare': return prepare();
    case 'serve':
      try {
        await serve();
      } catch (err) {
        writeState({ daemonPid: process.pid, status: 'failed', startedAt: new Date().toISOString(), error: (err as Error).message.split('\n')[0]! });
        throw err;
      }
      return -1;
    default:
      say('usage: npm run testenv -- up|down|status|prepare');
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => { if (code >= 0) process.exit(code); },
  (err: Error) => {
    say(err.message);
    process.exit(1);
  },
);
