/**
 * spec.maintenance.window → ARM's maintenanceWindow. ARM counts days from Sunday = 0
 * (the Python operator used Monday = 0 and shifted every window by a day).
 */
export const ARM_WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;

export interface ArmMaintenanceWindow {
  customWindow: 'Enabled' | 'Disabled';
  dayOfWeek: number;
  startHour: number;
  startMinute: number;
}

export function armMaintenanceWindow(window: { weekday: string; starttime: string } | undefined): ArmMaintenanceWindow {
  if (!window) return { customWindow: 'Disabled', dayOfWeek: 0, startHour: 0, startMinute: 0 };
  const day = ARM_WEEKDAYS.findIndex((d) => d.toLowerCase() === window.weekday.trim().slice(0, 3).toLowerCase());
  const m = /^(\d{1,2}):(\d{2})$/.exec(window.starttime.trim());
  if (day < 0 || !m) throw new Error(`invalid maintenance window ${window.weekday} ${window.starttime}: weekday must be Mon..Sun and starttime HH:MM`);
  const hour = Number(m[1]);
  const minute = Number(m[2]);
  if (hour > 23 || minute > 59) throw new Error(`invalid maintenance window start ${window.starttime}`);
  return { customWindow: 'Enabled', dayOfWeek: day, startHour: hour, startMinute: minute };
}

export function maintenanceWindowProblem(window: { weekday: string; starttime: string } | undefined): string | undefined {
  try {
    armMaintenanceWindow(window);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

export function sameMaintenanceWindow(a: ArmMaintenanceWindow, live: { customWindow?: string; dayOfWeek?: number; startHour?: number; startMinute?: number } | undefined): boolean {
  const liveEnabled = (live?.customWindow ?? 'Disabled').toLowerCase() === 'enabled';
  if ((a.customWindow === 'Enabled') !== liveEnabled) return false;
  if (!liveEnabled) return true;
  return a.dayOfWeek === (live?.dayOfWeek ?? 0) && a.startHour === (live?.startHour ?? 0) && a.startMinute === (live?.startMinute ?? 0);
}
