/** A configuration value is missing or malformed: the process stops before it starts anything (exit 2). */
export class ConfigError extends Error {
  override readonly name: string = 'ConfigError';
}
