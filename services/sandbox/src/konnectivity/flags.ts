// Command lines as the real binaries (spf13/pflag) read them: `--name=value` or `--name value`,
// booleans bare or `=true|false`, and an unknown flag is an error that stops the process, so a
// pod spec with a typo fails in the sandbox exactly as it would on a real seed.
export class FlagError extends Error {}

/** An empty flag or variable counts as unset, as the binaries treat them. */
export function nonEmpty(text: string | undefined): string | undefined {
  return text === '' ? undefined : text;
}

export type FlagKind = 'string' | 'int' | 'bool' | 'duration' | 'float';

export interface FlagSpec {
  kind: FlagKind;
  default?: string;
}

export type FlagSet = Record<string, FlagSpec>;

/** klog's flags, which both binaries register next to their own. */
export const KLOG_FLAGS: FlagSet = {
  v: { kind: 'int', default: '0' },
  vmodule: { kind: 'string' },
  logtostderr: { kind: 'bool', default: 'true' },
  alsologtostderr: { kind: 'bool', default: 'false' },
  'log-file': { kind: 'string' },
  'log-file-max-size': { kind: 'int' },
  'log-dir': { kind: 'string' },
  'log-backtrace-at': { kind: 'string' },
  stderrthreshold: { kind: 'string' },
  alsologtostderrthreshold: { kind: 'string' },
  'legacy-stderr-threshold-behavior': { kind: 'bool', default: 'true' },
  'skip-headers': { kind: 'bool' },
  'skip-log-headers': { kind: 'bool' },
  'add-dir-header': { kind: 'bool' },
  'one-output': { kind: 'bool' },
  help: { kind: 'bool' },
};

export class ParsedFlags {
  constructor(
    private readonly values: Map<string, string>,
    private readonly specs: FlagSet,
  ) {}

  has(name: string): boolean {
    return this.values.has(name);
  }

  string(name: string): string {
    return this.values.get(name) ?? this.spec(name).default ?? '';
  }

  int(name: string): number {
    const text = this.string(name);
    return text === '' ? 0 : Number(text);
  }

  bool(name: string): boolean {
    return this.string(name) === 'true';
  }

  /** Go durations ("30s", "1h", "1m30s", "500ms") in milliseconds. */
  durationMs(name: string): number {
    return parseDurationMs(this.string(name) || '0s', name);
  }

  private spec(name: string): FlagSpec {
    const spec = this.specs[name];
    if (!spec) throw new FlagError(`flag --${name} is not registered`);
    return spec;
  }
}

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseDurationMs(text: string, flag: string): number {
  if (text === '0') return 0;
  if (/^\d+(\.\d+)?$/.test(text)) throw new FlagError(`invalid argument "${text}" for "--${flag}" flag: time: missing unit in duration "${text}"`);
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((part) => part[0]).join('') !== text) {
    throw new FlagError(`invalid argument "${text}" for "--${flag}" flag: time: invalid duration "${text}"`);
  }
  return parts.reduce((total, part) => total + Number(part[1]) * (DURATION_UNITS[part[2]] ?? 0), 0);
}

function validate(name: string, spec: FlagSpec, value: string): string {
  switch (spec.kind) {
    case 'int':
      if (!/^-?\d+$/.test(value)) throw new FlagError(`invalid argument "${value}" for "--${name}" flag: strconv.ParseInt: parsing "${value}": invalid syntax`);
      return value;
    case 'float':
      if (Number.isNaN(Number(value)))
        throw new FlagError(`invalid argument "${value}" for "--${name}" flag: strconv.ParseFloat: parsing "${value}": invalid syntax`);
      return value;
    case 'bool':
      if (['true', '1', 't', 'T', 'TRUE', 'True'].includes(value)) return 'true';
      if (['false', '0', 'f', 'F', 'FALSE', 'False'].includes(value)) return 'false';
      throw new FlagError(`invalid argument "${value}" for "--${name}" flag: strconv.ParseBool: parsing "${value}": invalid syntax`);
    case 'duration':
      parseDurationMs(value, name);
      return value;
    case 'string':
      return value;
  }
}

export function parseFlags(args: string[], specs: FlagSet): ParsedFlags {
  const values = new Map<string, string>();
  for (let index = 0; index < args.length; index += 1) {
    const argument = args[index];
    if (!argument.startsWith('-') || argument === '-' || argument === '--') {
      throw new FlagError(`unexpected argument "${argument}"`);
    }
    const body = argument.replace(/^--?/, '');
    const equals = body.indexOf('=');
    const name = equals >= 0 ? body.slice(0, equals) : body;
    // pflag normalises nothing here, but klog's flags are registered with underscores too.
    const spec = specs[name] ?? specs[name.replace(/_/g, '-')];
    if (!spec) throw new FlagError(`unknown flag: --${name}`);
    const key = specs[name] ? name : name.replace(/_/g, '-');
    let value: string;
    if (equals >= 0) value = body.slice(equals + 1);
    else if (spec.kind === 'bool') value = 'true';
    else {
      const next = args[index + 1];
      if (next === undefined) throw new FlagError(`flag needs an argument: --${name}`);
      value = next;
      index += 1;
    }
    values.set(key, validate(name, spec, value));
  }
  return new ParsedFlags(values, specs);
}
