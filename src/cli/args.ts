import { DmgkitError } from '../errors.js';

export interface ParsedArgs {
  positional: string[];
  flags: Map<string, string | true>;
}

/**
 * A small argument parser: `--name value`, `--name=value`, `-o value`, boolean flags. `valued` lists the options
 * that take a value (long names without dashes, short names as '-x').
 */
export function parseArgs(argv: string[], valued: string[]): ParsedArgs {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      if (eq >= 0) flags.set(name, a.slice(eq + 1));
      else if (valued.includes(name)) {
        if (i + 1 >= argv.length) throw new DmgkitError('INVALID_ARGUMENT', `option --${name} needs a value`);
        flags.set(name, argv[++i]);
      } else flags.set(name, true);
    } else if (a.length > 1 && a.startsWith('-') && a !== '-') {
      if (valued.includes(a)) {
        if (i + 1 >= argv.length) throw new DmgkitError('INVALID_ARGUMENT', `option ${a} needs a value`);
        flags.set(a.slice(1), argv[++i]);
      } else for (const ch of a.slice(1)) flags.set(ch, true);
    } else positional.push(a);
  }
  return { positional, flags };
}

export function intFlag(args: ParsedArgs, name: string, dflt?: number): number | undefined {
  const v = args.flags.get(name);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (v === true || !Number.isInteger(n) || n < 0) throw new DmgkitError('INVALID_ARGUMENT', `--${name} needs a non-negative integer`);
  return n;
}
