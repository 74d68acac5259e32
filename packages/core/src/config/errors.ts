/** One problem in the operator configuration, addressed by its dotted key path. */
export interface ConfigProblem {
  /** Dotted path of the offending key, e.g. `backends.azure.subscription_id`, or the env var name. */
  path: string;
  message: string;
}

/**
 * A configuration the operator cannot start with. Carries every problem found (not only the
 * first), so an admin fixes the file in one round.
 */
export class ConfigError extends Error {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[], headline = 'Invalid operator configuration') {
    super(`${headline}:\n${problems.map((p) => `  - ${p.path || '(root)'}: ${p.message}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export function isConfigError(err: unknown): err is ConfigError {
  return err instanceof ConfigError;
}
