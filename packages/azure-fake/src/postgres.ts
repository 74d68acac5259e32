/** Defaults Azure fills in for PostgreSQL servers, and the server parameters a new server has. */
import type { Json } from './armFake.js';

export function flexibleDefaults(name: string): Json {
  return {
    fullyQualifiedDomainName: `${name}.postgres.database.azure.com`,
    version: '16',
    minorVersion: '16.9',
    state: 'Ready',
    storage: { storageSizeGB: 32, autoGrow: 'Disabled', tier: 'P4', type: 'Premium_LRS' },
    backup: { backupRetentionDays: 7, geoRedundantBackup: 'Disabled' },
    network: { publicNetworkAccess: 'Enabled' },
    highAvailability: { mode: 'Disabled', state: 'NotEnabled' },
    maintenanceWindow: { customWindow: 'Disabled', dayOfWeek: 0, startHour: 0, startMinute: 0 },
    authConfig: { activeDirectoryAuth: 'Disabled', passwordAuth: 'Enabled' },
    replicationRole: 'Primary',
    availabilityZone: '',
  };
}

export function singleDefaults(name: string): Json {
  return {
    fullyQualifiedDomainName: `${name}.postgres.database.azure.com`,
    version: '11',
    userVisibleState: 'Ready',
    sslEnforcement: 'Enabled',
    minimalTlsVersion: 'TLSEnforcementDisabled',
    infrastructureEncryption: 'Disabled',
    publicNetworkAccess: 'Enabled',
    storageProfile: { backupRetentionDays: 7, geoRedundantBackup: 'Disabled', storageMB: 5120, storageAutogrow: 'Disabled' },
  };
}

interface Seed {
  name: string;
  properties: Json;
}

const param = (name: string, value: string, opts: { dynamic?: boolean; readOnly?: boolean; dataType?: string; allowedValues?: string } = {}): Seed => ({
  name,
  properties: {
    value,
    defaultValue: value,
    dataType: opts.dataType ?? 'String',
    source: 'system-default',
    isDynamicConfig: opts.dynamic ?? true,
    isReadOnly: opts.readOnly ?? false,
    isConfigPendingRestart: false,
    ...(opts.allowedValues ? { allowedValues: opts.allowedValues } : {}),
  },
});

const EXTENSIONS = 'age,amcheck,btree_gin,btree_gist,citext,cube,fuzzystrmatch,hstore,hypopg,intarray,isn,lo,ltree,pg_buffercache,pg_cron,pg_partman,pg_prewarm,pg_stat_statements,pg_trgm,pgaudit,pgcrypto,pglogical,pgrowlocks,pgstattuple,plpgsql,postgis,postgres_fdw,tablefunc,timescaledb,unaccent,uuid-ossp,vector';
const PRELOAD = 'age,auto_explain,azure_storage,pg_cron,pg_failover_slots,pg_hint_plan,pg_partman_bgw,pg_prewarm,pg_squeeze,pg_stat_statements,pgaudit,pglogical,timescaledb,wal2json';

/** A representative subset of a new server's parameters (static ones need a restart). */
export function configurationSeed(flexible: boolean): Seed[] {
  // dataType and allowedValues as Azure reports them (ranges 'min-max', lists 'a,b').
  const common = [
    param('work_mem', '4096', { dataType: 'Integer', allowedValues: '4096-2097151' }),
    param('log_min_duration_statement', '-1', { dataType: 'Integer', allowedValues: '-1-2147483647' }),
    param('random_page_cost', '2', { dataType: 'Numeric', allowedValues: '0-1.79769e+308' }),
    param('max_connections', flexible ? '859' : '100', { dynamic: false, dataType: 'Integer', allowedValues: '25-5000' }),
    param('log_autovacuum_min_duration', '600000', { dataType: 'Integer', allowedValues: '-1-2147483647' }),
    param('block_size', '8192', { readOnly: true, dataType: 'Integer', allowedValues: '8192-8192' }),
    param('log_connections', 'on', { dataType: 'Boolean', allowedValues: 'on,off' }),
    param('log_statement', 'none', { dataType: 'Enumeration', allowedValues: 'none,ddl,mod,all' }),
    param('shared_preload_libraries', flexible ? 'pg_cron,pg_stat_statements' : '', { dynamic: false, dataType: 'Set', allowedValues: PRELOAD }),
  ];
  return flexible ? [...common, param('azure.extensions', '', { dataType: 'Set', allowedValues: EXTENSIONS }), param('cron.database_name', 'postgres', { dynamic: false })] : common;
}
