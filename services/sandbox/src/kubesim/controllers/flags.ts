// pflag-style parsing as the real binaries do it: --name=value, --name value, bare booleans.
export class FlagError extends Error {}

export interface FlagSpec {
  booleans: ReadonlySet<string>;
  values: ReadonlySet<string>;
  /** Single-dash shorthands, e.g. v → v. */
  shorthands?: Readonly<Record<string, string>>;
}

export type ParsedFlags = Map<string, string[]>;

export function parseFlags(argv: string[], spec: FlagSpec): ParsedFlags {
  const flags: ParsedFlags = new Map();
  for (let index = 0; index < argv.length; index += 1) {
    const argument = argv[index];
    let name: string;
    let inline: string | undefined;
    if (argument.startsWith('--')) {
      const body = argument.slice(2);
      const equals = body.indexOf('=');
      name = equals >= 0 ? body.slice(0, equals) : body;
      inline = equals >= 0 ? body.slice(equals + 1) : undefined;
    } else if (argument.startsWith('-') && argument.length > 1) {
      const body = argument.slice(1);
      const equals = body.indexOf('=');
      const short = equals >= 0 ? body.slice(0, equals) : body;
      const long = spec.shorthands?.[short];
      if (!long) throw new FlagError(`unknown shorthand flag: '${short}' in ${argument}`);
      name = long;
      inline = equals >= 0 ? body.slice(equals + 1) : undefined;
    } else {
      throw new FlagError(`unexpected argument "${argument}"`);
    }
    if (spec.booleans.has(name)) {
      const value = inline ?? 'true';
      if (!/^(1|t|T|TRUE|true|True|0|f|F|FALSE|false|False)$/.test(value)) {
        throw new FlagError(`invalid argument "${value}" for "--${name}" flag: strconv.ParseBool: parsing "${value}": invalid syntax`);
      }
      flags.set(name, [...(flags.get(name) ?? []), value]);
      continue;
    }
    if (!spec.values.has(name)) throw new FlagError(`unknown flag: --${name}`);
    let value = inline;
    if (value === undefined) {
      value = argv[index + 1];
      if (value === undefined) throw new FlagError(`flag needs an argument: --${name}`);
      index += 1;
    }
    flags.set(name, [...(flags.get(name) ?? []), value]);
  }
  return flags;
}

export function flagValue(flags: ParsedFlags, name: string): string | undefined {
  return flags.get(name)?.at(-1);
}

export function flagBool(flags: ParsedFlags, name: string, fallback: boolean): boolean {
  const value = flagValue(flags, name);
  return value === undefined ? fallback : /^(1|t|T|TRUE|true|True)$/.test(value);
}

/** Go time.ParseDuration for the units these flags use (h, m, s, ms). */
export function parseDuration(flag: string, value: string): number {
  const pattern = /(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/g;
  let total = 0;
  let consumed = 0;
  for (const match of value.matchAll(pattern)) {
    if (match.index !== consumed) break;
    const amount = Number(match[1]);
    const unit = match[2];
    total += amount * ({ h: 3_600_000, m: 60_000, s: 1_000, ms: 1, us: 0.001, µs: 0.001, ns: 0.000001 } as Record<string, number>)[unit];
    consumed += match[0].length;
  }
  if (value === '0') return 0;
  if (consumed !== value.length || consumed === 0) throw new FlagError(`invalid argument "${value}" for "--${flag}" flag: time: invalid duration "${value}"`);
  return total;
}
