import { parseArgs, ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

/** What a command line asks for: its values, or an answer to print and the exit status. */
export type CliArgs<T> = { values: T } | { exit: { code: number; stdout?: string; stderr?: string } };

/**
 * node:util parseArgs, strict: an unknown flag or a stray argument gets one line naming it and
 * the usage, exit status 2 (a usage error, as for most Unix tools); --help prints the usage, 0.
 */
export function parseCliArgs<T>(command: string, usage: string, argv: readonly string[], options: Options): CliArgs<T> {
  try {
    const { values } = parseArgs({ args: [...argv], options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true });
    if (values.help) return { exit: { code: 0, stdout: `${usage}\n` } };
    return { values: values as T };
  } catch (error) {
    const message = (error as Error).message.split('\n')[0];
    return { exit: { code: 2, stderr: `${command}: ${message}\n${usage}\n` } };
  }
}
