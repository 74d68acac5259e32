import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';

/**
 * Every child the harness starts goes through here. Children run in their own process group
 * (detached) so a whole tree (runuser → postgres → backends) dies with one signal; the parent's
 * exit, SIGINT and SIGTERM kill every group still tracked. A child that dies on its own is reported
 * with its last log lines instead of leaving tests hanging on a dead port.
 */
export interface Supervised {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Last log lines (stdout and stderr interleaved). */
  tail(lines?: number): string;
  /** Set when the child has exited. */
  readonly exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** Resolves when the child exits (for whatever reason). */
  readonly done: Promise<void>;
  /** From now on a death is unexpected (reported); before, whoever waits for readiness reports it. */
  markReady(): void;
  /** Polite stop: the signal to the child, then SIGKILL to the whole group after the grace period. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Also append the output to this file (the detached `testenv up` keeps logs there). */
  logFile?: string;
  /** Run as this user/group (PostgreSQL refuses to run as root). */
  uid?: number;
  gid?: number;
  /** Called when the child dies without stop() having been called. */
  onUnexpectedExit?: (error: ChildDiedError) => void;
}

export class ChildDiedError extends Error {
  readonly child: string;
  readonly logTail: string;
  constructor(child: string, logTail: string, detail: string) {
    super(`${child} ${detail}; last log lines:\n${logTail}`);
    this.name = 'ChildDiedError';
    this.child = child;
    this.logTail = logTail;
  }
}

const running = new Set<Supervised>();
const unexpected: ChildDiedError[] = [];

/**
 * The child runs under a small sh watchdog that leads its process group. The watchdog holds the
 * read end of a pipe whose write end only we hold: when this process dies in any way, even by
 * SIGKILL where no exit hook runs, the read sees EOF and the whole group is killed, so no etcd or
 * postgres outlives its owner. Signals sent to the watchdog are forwarded to the child, and the
 * watchdog exits with the child's status once the child is gone.
 */
const WATCHDOG = [
  'exec 3<&0',
  '"$@" </dev/null 3<&- & c=$!',
  'for s in TERM INT QUIT HUP; do trap "kill -$s $c 2>/dev/null" $s; done',
  '( read -r _ <&3; kill -KILL 0 ) & w=$!',
  'while :; do wait $c; s=$?; kill -0 $c 2>/dev/null || break; done',
  'kill $w 2>/dev/null',
  'exit $s',
].join('\n');

export function supervise(name: string, command: string, args: string[], opts: StartOptions = {}): Supervised {
  installExitHandlers();
  const child = spawn('sh', ['-c', WATCHDOG, `testenv-${name}`, command, ...args], {
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: opts.env ?? process.env,
    cwd: opts.cwd,
    ...(opts.uid !== undefined ? { uid: opts.uid } : {}),
    ...(opts.gid !== undefined ? { gid: opts.gid } : {}),
  });
  child.stdin!.on('error', () => undefined);
  const lines: string[] = [];
  const log: WriteStream | undefined = opts.logFile ? createWriteStream(opts.logFile, { flags: 'a' }) : undefined;
  let partial = '';
  const onData = (chunk: Buffer): void => {
    log?.write(chunk);
    const parts = (partial + chunk.toString('utf8')).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
    if (lines.length > 200) lines.splice(0, lines.length - 200);
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  // The child must not keep the parent's event loop alive: the parent decides when to stop.
  child.unref();
  for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as unknown as { unref?: () => void }).unref?.();

  let stopping = false;
  let ready = false;
  let exited: Supervised['exited'];
  const tail = (n = 30): string => [...lines, ...(partial ? [partial] : [])].slice(-n).join('\n');
  const done = new Promise<void>((resolve) => {
    child.on('error', (err) => {
      exited = { code: null, signal: null };
      lines.push(`spawn failed: ${err.message}`);
      finish();
    });
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      finish();
    });
    function finish(): void {
      running.delete(self);
      log?.end();
      // A dead leader may leave grandchildren (runuser → postgres); sweep the group.
      killGroup(child.pid, 'SIGKILL');
      if (!stopping && ready) {
        const error = new ChildDiedError(name, tail(), `exited unexpectedly (code ${exited?.code ?? '-'}, signal ${exited?.signal ?? '-'})`);
        unexpected.push(error);
        if (opts.onUnexpectedExit) opts.onUnexpectedExit(error);
        else process.stderr.write(`[testenv] ${error.message}\n`);
      }
      resolve();
    }
  });

  const self: Supervised = {
    name,
    pid: child.pid ?? -1,
    child,
    tail,
    get exited() { return exited; },
    done,
    markReady() { ready = true; },
    async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<void> {
      stopping = true;
      if (exited) return;
      // To the watchdog only: it forwards the signal to the child and waits for it.
      try { process.kill(child.pid!, signal); } catch { /* gone */ }
      const timer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), graceMs);
      await done;
      clearTimeout(timer);
    },
  };
  running.add(self);
  return self;
}

/** Children that died on their own since the process started (a global setup fails the run on them). */
export function unexpectedExits(): readonly ChildDiedError[] {
  return unexpected;
}

export function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid || pid <= 0) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Cleanups that must also run on a hard exit (temp dirs); run synchronously after the kills. */
const exitCleanups = new Set<() => void>();
export function onExitSync(fn: () => void): () => void {
  installExitHandlers();
  exitCleanups.add(fn);
  return () => exitCleanups.delete(fn);
}

let installed = false;
function installExitHandlers(): void {
  if (installed) return;
  installed = true;
  const killAll = (): void => {
    for (const p of running) killGroup(p.pid, 'SIGKILL');
    running.clear();
    for (const fn of exitCleanups) {
      try { fn(); } catch { /* best effort on the way out */ }
    }
    exitCleanups.clear();
  };
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const handler = (): void => {
      // Someone else (vitest, the testenv daemon) owns shutdown: let them stop children gracefully;
      // the 'exit' hook above still kills whatever is left when they exit.
      if (process.listenerCount(signal) > 1) return;
      killAll();
      process.off(signal, handler);
      process.kill(process.pid, signal); // die of the signal as if we had never caught it
    };
    process.on(signal, handler);
  }
}
