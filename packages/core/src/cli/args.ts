/** Command line parsing with node:util parseArgs (no dependency). */
import { parseArgs } from 'node:util';
import type { CliOverride } from '../config/resolve.js';

export const USAGE = `Usage: hybridcloud-postgresql-operator [command] [options]

Commands:
  run                      Run the operator (default)
  config check [FILE]      Validate the configuration (and the enabled backends' sections) and print
                           the effective configuration: defaults applied, overrides marked, secrets redacted
  check-config [FILE]      Same as "config check"
  crds                     Print the CustomResourceDefinitions (kubectl apply -f -)
  backends                 List the backend packages found and which are enabled

Options:
  -c, --config FILE        Config file (default: $OPERATOR_CONFIG, ./config.yaml, .hybridcloudrc.yaml, ...)
  -n, --namespace NS       Watch only this namespace (repeatable; default: all namespaces)
  -A, --all-namespaces     Watch all namespaces (overrides the config)
      --metrics-port PORT  Port for /healthz, /readyz and /metrics (0 disables)
      --leader-elect       Use leader election (default from config: on)
      --no-leader-elect    Run without leader election (one replica only!)
      --log-level LEVEL    fatal, error, warn, info, debug, trace
      --plugin-path DIR    Extra directory with backend packages (repeatable)
  -h, --help               Show this help
  -v, --version            Show the version

Environment: OPERATOR_CONFIG (config file), HYBRIDCLOUD_<PATH> (override any config key, e.g.
HYBRIDCLOUD_SECURITY_PASSWORD_LENGTH=32), HYBRIDCLOUD_PLUGIN_PATHS (colon-separated), KUBECONFIG.`;

export type Command =
  | { kind: 'run'; configPath?: string; overrides: CliOverride[] }
  | { kind: 'check'; configPath?: string; overrides: CliOverride[] }
  | { kind: 'crds' }
  | { kind: 'backends'; configPath?: string; overrides: CliOverride[] }
  | { kind: 'help' }
  | { kind: 'version' };

export class UsageError extends Error {
  override name = 'UsageError';
}

export function parseCommand(argv: readonly string[]): Command {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      allowNegative: true,
      strict: true,
      options: {
        config: { type: 'string', short: 'c' },
        namespace: { type: 'string', short: 'n', multiple: true },
        'all-namespaces': { type: 'boolean', short: 'A' },
        'metrics-port': { type: 'string' },
        'leader-elect': { type: 'boolean' },
        'log-level': { type: 'string' },
        'plugin-path': { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values: v, positionals } = parsed;
  if (v.help) return { kind: 'help' };
  if (v.version) return { kind: 'version' };

  const overrides: CliOverride[] = [];
  if (v.namespace?.length && v['all-namespaces']) throw new UsageError('--namespace and --all-namespaces exclude each other');
  if (v.namespace?.length) overrides.push({ path: ['operator', 'watch_namespaces'], value: v.namespace, flag: '--namespace' });
  if (v['all-namespaces']) overrides.push({ path: ['operator', 'watch_namespaces'], value: [], flag: '--all-namespaces' });
  if (v['metrics-port'] !== undefined) {
    const port = Number(v['metrics-port']);
    if (!Number.isInteger(port)) throw new UsageError(`--metrics-port must be a port number, got '${v['metrics-port']}'`);
    overrides.push({ path: ['operator', 'health_port'], value: port, flag: '--metrics-port' });
  }
  if (v['leader-elect'] !== undefined) overrides.push({ path: ['operator', 'leader_election', 'enabled'], value: v['leader-elect'], flag: v['leader-elect'] ? '--leader-elect' : '--no-leader-elect' });
  if (v['log-level'] !== undefined) overrides.push({ path: ['operator', 'log_level'], value: v['log-level'], flag: '--log-level' });
  if (v['plugin-path']?.length) overrides.push({ path: ['plugins', 'paths'], value: v['plugin-path'], flag: '--plugin-path' });

  const [cmd = 'run', sub, ...rest] = positionals;
  const withFile = (file: string | undefined, extra: readonly string[]) => {
    if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
    if (file && v.config && file !== v.config) throw new UsageError('give the config file either as argument or with --config, not both');
    const configPath = file ?? v.config;
    return configPath ? { configPath, overrides } : { overrides };
  };
  switch (cmd) {
    case 'run':
      return { kind: 'run', ...withFile(undefined, [sub, ...rest].filter((x): x is string => x !== undefined)) };
    case 'config':
      if (sub !== 'check') throw new UsageError(`unknown command 'config ${sub ?? ''}'; did you mean 'config check'?`);
      return { kind: 'check', ...withFile(rest[0], rest.slice(1)) };
    case 'check-config':
      return { kind: 'check', ...withFile(sub, rest) };
    case 'crds':
      if (sub) throw new UsageError(`unexpected arguments: ${[sub, ...rest].join(' ')}`);
      return { kind: 'crds' };
    case 'backends':
      return { kind: 'backends', ...withFile(undefined, [sub, ...rest].filter((x): x is string => x !== undefined)) };
    default:
      throw new UsageError(`unknown command '${cmd}'`);
  }
}
