import { spawn } from 'node:child_process';

export interface ToolResult { stdout: string; stderr: string }

/** Runs a CLI (kubectl, helm, psql) to completion; a non-zero exit rejects with its stderr. */
export function runTool(bin: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; uid?: number; gid?: number; cwd?: string } = {}): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const { uid, gid, cwd } = opts;
    const child = spawn(bin, args, { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'], timeout: opts.timeoutMs ?? 120_000, uid, gid, cwd });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const result = { stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
      if (code === 0) resolve(result);
      else {
        const name = bin.split('/').pop();
        reject(Object.assign(new Error(`${name} ${args.join(' ')} failed (${signal ?? `exit ${code}`}): ${result.stderr.trim() || result.stdout.trim()}`), result, { exitCode: code }));
      }
    });
    // A tool that exits without reading stdin (pg_isready) must not crash us with EPIPE.
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}
