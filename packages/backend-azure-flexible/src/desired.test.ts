import { describe, expect, it } from 'vitest';
import { armMaintenanceWindow, desiredFirewallRules, diffFirewallRules } from '@hybridcloud-postgresql/azure-common';
import { resolveVersion, sameValue, storageGB } from './desired.js';
import type { ServerRequest } from '@hybridcloud-postgresql/core';

const req = (storage?: number) => ({ namespace: 'n', name: 'x', uid: 'u', state: {}, spec: { credentialsSecret: 's', ...(storage ? { size: { storageGB: storage } } : {}) } }) as ServerRequest;

describe('flexible desired state', () => {
  it('maps weekdays the ARM way (Sunday = 0)', () => {
    expect(['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].map((d) => armMaintenanceWindow({ weekday: d, starttime: '00:00' }).dayOfWeek)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(armMaintenanceWindow(undefined)).toEqual({ customWindow: 'Disabled', dayOfWeek: 0, startHour: 0, startMinute: 0 });
    expect(() => armMaintenanceWindow({ weekday: 'Xyz', starttime: '03:00' })).toThrow(/weekday/);
  });

  it('resolves latest to the newest offered major, unknown ones to the default with a warning', () => {
    expect(resolveVersion('latest', ['14', '17', '15'], undefined)).toEqual({ version: '17' });
    expect(resolveVersion(undefined, ['14', '16'], undefined)).toEqual({ version: '16' });
    expect(resolveVersion('15.4', ['14', '15'], undefined)).toEqual({ version: '15' });
    const r = resolveVersion('9', ['14', '15', '16'], '15');
    expect(r.version).toBe('15');
    expect(r.warning?.reason).toBe('UnsupportedVersion');
  });

  it('rounds storage up to the sizes Azure offers', () => {
    expect(storageGB(req())).toBe(32);
    expect(storageGB(req(33))).toBe(64);
    expect(storageGB(req(512))).toBe(512);
  });

  it('compares server parameter values the way Azure normalises them', () => {
    expect(sameValue('ON', 'on')).toBe(true);
    expect(sameValue('true', 'on')).toBe(true);
    expect(sameValue('1.0', '1')).toBe(true);
    expect(sameValue('4096', '8192')).toBe(false);
    expect(sameValue('off', 'on')).toBe(false);
  });

  it('diffs firewall rules by name, case-insensitively, spec winning over config', () => {
    const wanted = desiredFirewallRules([{ name: 'office', startIp: '1.1.1.1', endIp: '1.1.1.1' }], [{ name: 'Office', startIp: '2.2.2.2', endIp: '2.2.2.2' }], true);
    expect(wanted.map((r) => `${r.name}:${r.startIpAddress}`)).toEqual(['AllowAllWindowsAzureIps:0.0.0.0', 'Office:2.2.2.2']);
    const d = diffFirewallRules(wanted, [{ name: 'allowallwindowsazureips', startIpAddress: '0.0.0.0', endIpAddress: '0.0.0.0' }, { name: 'old', startIpAddress: '3.3.3.3', endIpAddress: '3.3.3.3' }]);
    expect(d).toEqual({ upsert: [{ name: 'Office', startIpAddress: '2.2.2.2', endIpAddress: '2.2.2.2' }], remove: ['old'] });
  });
});
