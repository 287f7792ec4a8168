import { DmgkitError } from '../errors.js';

export interface ParsedArgs {
  positional: string[];
  flags: Map<string, string | true>;
}

/** 'flag' takes no value, 'value' takes one. Keys: long names without dashes, or the letter of a `-x` option. */
export type OptionTable = Record<string, 'flag' | 'value'>;

const spell = (name: string) => (name.length === 1 ? `-${name}` : `--${name}`);

/**
 * A small argument parser: `--name value`, `--name=value`, `-o value`, boolean flags (`-lR` = `-l -R`), `--` ends
 * the options. With an option table, an option not in it (or a value given to a flag) is an INVALID_ARGUMENT error
 * naming it; with a list of valued options (the older form) anything is accepted.
 */
export function parseArgs(argv: string[], options: string[] | OptionTable, command?: string): ParsedArgs {
  const table: OptionTable | null = Array.isArray(options) ? null : options;
  const isValued = (name: string) => (table ? table[name] === 'value' : (options as string[]).includes(name.length === 1 ? `-${name}` : name));
  const check = (name: string) => {
    if (table && !Object.hasOwn(table, name)) {
      throw new DmgkitError('INVALID_ARGUMENT', `unknown option ${spell(name)}${command ? ` for ${command} (see dmgkit help ${command})` : ''}`);
    }
  };
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
      check(name);
      if (eq >= 0) {
        if (table && !isValued(name)) throw new DmgkitError('INVALID_ARGUMENT', `option --${name} takes no value`);
        flags.set(name, a.slice(eq + 1));
      } else if (isValued(name)) {
        if (i + 1 >= argv.length) throw new DmgkitError('INVALID_ARGUMENT', `option --${name} needs a value`);
        flags.set(name, argv[++i]);
      } else flags.set(name, true);
    } else if (a.length > 1 && a.startsWith('-') && a !== '-') {
      const letters = a.slice(1);
      if (letters.length === 1 || isValued(letters[0])) {
        const name = letters[0];
        check(name);
        if (isValued(name)) {
          if (letters.length > 1) flags.set(name, letters.slice(1)); // -oFILE
          else if (i + 1 >= argv.length) throw new DmgkitError('INVALID_ARGUMENT', `option -${name} needs a value`);
          else flags.set(name, argv[++i]);
          continue;
        }
      }
      for (const ch of letters) {
        check(ch);
        if (table && isValued(ch)) throw new DmgkitError('INVALID_ARGUMENT', `option -${ch} needs a value and cannot be combined with others`);
        flags.set(ch, true);
      }
    } else positional.push(a);
  }
  return { positional, flags };
}

export function intFlag(args: ParsedArgs, name: string, dflt?: number): number | undefined {
  const v = args.flags.get(name);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (v === true || v === '' || !Number.isInteger(n) || n < 0) throw new DmgkitError('INVALID_ARGUMENT', `--${name} needs a non-negative integer`);
  return n;
}
