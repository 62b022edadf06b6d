import type { ClusterConfig } from '../cluster-config.js';

/**
 * The processes and files that read settings. A setting lists the roles
 * that use it; everything else (which command takes it, what the
 * supervisor and `gen` hand each child) is derived from that list.
 *  - gateway: every gateway;
 *  - worker: every worker;
 *  - direct: a worker no gateway fronts (a balancer with affinity session,
 *    ip or none, or a worker run alone): it authenticates and rate-limits
 *    requests itself, with the gateway's settings;
 *  - supervisor: `serve` itself; lb: the nginx/HAProxy config; gen: files only gen writes.
 */
export type Role = 'gateway' | 'worker' | 'direct' | 'supervisor' | 'lb' | 'gen';

/** Commands that resolve cluster settings. `bench --spawn` resolves as `serve`. */
export type CommandName = 'serve' | 'gateway' | 'worker' | 'gen';

/** Where an effective value came from (`config print` shows it). */
export type SettingSource = 'default' | 'file' | 'env' | 'flag' | 'derived';

/**
 * How one setting's values are read and written: from a flag, an
 * environment variable or a config file (strings, numbers, arrays, objects)
 * to the typed value, and back to argv strings for a child process.
 */
export interface Codec<T> {
  /** The expected form, for error lines and docs: "a duration such as 30s or 5m". */
  form: string;
  /** Placeholder in `--flag <placeholder>`; undefined for a switch. */
  placeholder: string | undefined;
  /** Throws an Error whose message says what is wrong (the caller names key and source). */
  parse(input: unknown): T;
  /** Argv values: one per occurrence of the flag (a switch: [] when off, [''] when on). */
  format(value: T): string[];
  /** Human-readable value (config print, docs). */
  show(value: T): string;
  /** Values from several sources merge (maps of tool → value) instead of replacing. */
  merge?(base: T, over: T): T;
  /** The flag may be repeated; commander collects the raw strings. */
  repeatable?: boolean;
  /** Commander choices. */
  choices?: readonly string[];
}

export interface SettingSpec<T> {
  /** camelCase: the config-file key and commander's attribute name. */
  name: string;
  /** Long flag without dashes, when it is not the kebab-case of the name. */
  flag?: string;
  /** Environment variable; default MCP_SCALE_<SNAKE_NAME>. */
  env?: string;
  codec: Codec<T>;
  /** The value when nothing sets it (undefined: unset). */
  default: NoInfer<T> | undefined;
  /** Per-command defaults (e.g. gen binds 0.0.0.0, a lone worker takes a free port). */
  defaults?: Partial<Record<CommandName, NoInfer<T> | undefined>>;
  /** Who reads it. `serve` takes every setting a role it runs reads; `gen` takes all of them. */
  roles: readonly Role[];
  /** Travels by environment, .env or a Kubernetes Secret, never argv; redacted when printed. */
  secret?: boolean | ((value: NoInfer<T>) => boolean);
  /** How a value that is a secret only in part is printed (a Redis URL without its password). */
  redact?: (value: NoInfer<T>) => string;
  /** One line of --help. */
  help: string;
  /** Where it lives in the resolved ClusterConfig. */
  get(config: ClusterConfig): NoInfer<T> | undefined;
  set(config: ClusterConfig, value: NoInfer<T>): void;
}

/** A setting with its value type erased, as the registry holds it. */
export interface Setting extends Omit<SettingSpec<unknown>, 'flag' | 'env'> {
  flag: string;
  env: string;
}

/** Declares a setting, keeping T checked between codec, default and accessors. */
export function setting<T>(spec: SettingSpec<T>): Setting {
  return {
    ...(spec as unknown as SettingSpec<unknown>),
    flag: spec.flag ?? spec.name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`),
    env: spec.env ?? `MCP_SCALE_${spec.name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`,
  };
}

/** Raw values as a command line or a caller gives them, by setting name (strings are parsed). */
export type SettingInputs = Readonly<Partial<Record<string, string | number | boolean | readonly string[]>>>;
