/**
 * The fault suite's figures: every scenario records one row (runs, duplicates, leaks, stuck
 * finalizers, runs that did not converge, longest time to converge). Rows go to stderr at once and,
 * under `npm run faults`, to a JSON-lines file the global teardown prints as one table.
 */
import { appendFileSync } from 'node:fs';

export const RESULTS_ENV = 'HC_FAULTS_RESULTS';

/** Runs per scenario: `HC_FAULTS_N` (npm run faults: 20 unless told), else the small CI number. */
export function runsOf(small: number, full?: number): number {
  const n = Number(process.env['HC_FAULTS_N']);
  if (!Number.isFinite(n) || n <= 0) return small;
  return full === undefined ? Math.round(n) : Math.max(1, Math.round((n * full) / 20));
}

export interface Row {
  scenario: string;
  runs: number;
  duplicates: number;
  leaks: number;
  stuck: number;
  /** Runs that did not reach the expected state (Ready, working login, label gone) in time. */
  unconverged: number;
  /** Longest time from the fault to the converged state. */
  maxConvergeMs: number;
  /** Anything scenario-specific (exit time, takeover time, overlapping writers…). */
  notes?: string;
}

export class Tally {
  readonly row: Row;
  readonly problems: string[] = [];
  constructor(scenario: string) {
    this.row = { scenario, runs: 0, duplicates: 0, leaks: 0, stuck: 0, unconverged: 0, maxConvergeMs: 0 };
  }
  converged(ms: number): void {
    this.row.maxConvergeMs = Math.max(this.row.maxConvergeMs, ms);
  }
  problem(kind: 'duplicates' | 'leaks' | 'stuck' | 'unconverged', detail: string, count = 1): void {
    this.row[kind] += count;
    this.problems.push(`${kind}: ${detail}`);
  }
  /** Prints the row and hands it to the report; returns the problems for the test's assertion. */
  finish(notes?: string): string[] {
    if (notes) this.row.notes = notes;
    const file = process.env[RESULTS_ENV];
    if (file) appendFileSync(file, `${JSON.stringify(this.row)}\n`);
    process.stderr.write(`[faults] ${formatTable([this.row])}\n${this.problems.map((p) => `[faults]   ${p}`).join('\n')}\n`);
    return this.problems;
  }
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export function formatTable(rows: Row[]): string {
  const head = ['scenario', 'runs', 'duplicates', 'leaks', 'stuck finalizers', 'not converged', 'longest converge', 'notes'];
  const body = rows.map((r) => [r.scenario, String(r.runs), String(r.duplicates), String(r.leaks), String(r.stuck), String(r.unconverged), secs(r.maxConvergeMs), r.notes ?? '']);
  return [head, head.map(() => '---'), ...body].map((cols) => `| ${cols.join(' | ')} |`).join('\n');
}

/** Polls until `fn` is truthy; returns the elapsed ms, or undefined after the timeout (never throws). */
export async function settle(fn: () => Promise<unknown>, timeoutMs: number, intervalMs = 250): Promise<number | undefined> {
  const started = Date.now();
  for (;;) {
    try {
      if (await fn()) return Date.now() - started;
    } catch {
      // not there yet
    }
    if (Date.now() - started > timeoutMs) return undefined;
    await sleep(intervalMs);
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
export const randomBetween = (lo: number, hi: number) => Math.floor(lo + Math.random() * (hi - lo));
