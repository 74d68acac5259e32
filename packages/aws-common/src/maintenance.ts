/**
 * Maintenance window conversion. The CRD has a weekday (Mon…Sun) and a start time (HH:MM, UTC);
 * RDS wants `ddd:hh24:mi-ddd:hh24:mi` (UTC, at least 30 minutes). We use a one-hour window, the
 * length the Python operator meant to use (its helper crashed on every input).
 */
const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

export const MAINTENANCE_WINDOW_MINUTES = 60;

export function maintenanceWindowProblem(window: { weekday: string; starttime: string }): string | undefined {
  if (!DAYS.includes(window.weekday.toLowerCase() as (typeof DAYS)[number])) return `weekday '${window.weekday}' must be one of Mon, Tue, Wed, Thu, Fri, Sat, Sun`;
  if (!/^([01]\d|2[0-3]):[0-5]\d$/.test(window.starttime)) return `starttime '${window.starttime}' must be HH:MM (00:00–23:59)`;
  return undefined;
}

export function toRdsMaintenanceWindow(window: { weekday: string; starttime: string }, minutes = MAINTENANCE_WINDOW_MINUTES): string {
  const problem = maintenanceWindowProblem(window);
  if (problem) throw new Error(problem);
  if (minutes < 30) throw new Error('RDS maintenance windows last at least 30 minutes');
  const day = DAYS.indexOf(window.weekday.toLowerCase() as (typeof DAYS)[number]);
  const [h, m] = window.starttime.split(':').map(Number) as [number, number];
  const start = day * 1440 + h * 60 + m;
  const end = (start + minutes) % (7 * 1440);
  return `${fmt(start)}-${fmt(end)}`;
}

function fmt(minuteOfWeek: number): string {
  const day = DAYS[Math.floor(minuteOfWeek / 1440)]!;
  const rest = minuteOfWeek % 1440;
  return `${day}:${String(Math.floor(rest / 60)).padStart(2, '0')}:${String(rest % 60).padStart(2, '0')}`;
}

/** RDS echoes windows in lower case; compare without caring. */
export function sameWindow(a: string | undefined, b: string | undefined): boolean {
  return (a ?? '').toLowerCase() === (b ?? '').toLowerCase();
}
