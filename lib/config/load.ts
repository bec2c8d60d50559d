/**
 * Builds one environment's configuration: defaults in code, then `environments.<env>` from the CDK
 * context, then `-c key.path=value` overrides, then one validation pass that reports every problem.
 */
import { DEFAULTS } from './defaults';
import { EnvConfig, envConfigSchema } from './schema';
import { ConfigError, deepFreeze, didYouMean, formatIssue, formatValue } from '../../contracts/validation';

/** Environment used when `-c env=` is not given. */
export const DEFAULT_ENV = 'dev';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Context keys that belong to the CDK itself, never to this config. */
function isCdkKey(key: string): boolean {
  return key.startsWith('@') || key.includes(':') || key.includes('/') || key === 'env' || key === 'environments';
}

/** Deep-merges `override` into `target`: objects merge, arrays and scalars replace; tiers merge by name. */
function merge(target: Json, override: Json, path: string, problems: string[]): void {
  for (const [key, value] of Object.entries(override)) {
    const at = path ? `${path}.${key}` : key;
    if (at === 'tiers' && isObject(value)) {
      mergeTiersByName(target, value, problems);
    } else if (isObject(value) && isObject(target[key])) {
      merge(target[key] as Json, value, at, problems);
    } else {
      target[key] = structuredClone(value);
    }
  }
}

/** `tiers: { large: {...} }` updates the tier named large; a new name appends a tier. */
function mergeTiersByName(target: Json, byName: Json, problems: string[]): void {
  const tiers = Array.isArray(target.tiers) ? (target.tiers as Json[]) : [];
  for (const [name, value] of Object.entries(byName)) {
    if (!isObject(value)) {
      problems.push(`tiers.${name}: got ${formatValue(value)}, expected an object of tier settings`);
      continue;
    }
    const existing = tiers.find((t) => t.name === name);
    if (existing) {
      merge(existing, value, `tiers.${name}`, problems);
    } else {
      tiers.push({ name, ...structuredClone(value) });
    }
  }
  target.tiers = tiers;
}

/** Sets one dotted path; `tiers.<name>` (or `tiers.<index>`) addresses one tier. */
function setPath(root: Json, dotted: string, value: unknown, problems: string[]): void {
  const keys = dotted.split('.');
  let node: unknown = root;
  for (let i = 0; i < keys.length - 1; i++) {
    const key = keys[i];
    if (Array.isArray(node)) {
      const list = node as Json[];
      const byName = list.findIndex((t) => isObject(t) && t.name === key);
      const index = byName >= 0 ? byName : /^\d+$/.test(key) ? Number(key) : -1;
      if (index < 0 || index >= list.length) {
        const names = list.map((t) => String(t.name));
        problems.push(`${keys.slice(0, i + 1).join('.')}: got an unknown tier, expected one of ${names.join(', ')}${didYouMean(key, names)}`);
        return;
      }
      node = list[index];
      continue;
    }
    const obj = node as Json;
    if (obj[key] === undefined) {
      obj[key] = {};
    }
    if (!isObject(obj[key]) && !Array.isArray(obj[key])) {
      problems.push(`${keys.slice(0, i + 1).join('.')}: got ${formatValue(obj[key])}, expected no nested keys under it`);
      return;
    }
    node = obj[key];
  }
  (node as Json)[keys[keys.length - 1]] = value;
}

/** Keys that moved, with where they went: named in the error instead of a bare "unknown key". */
const MOVED_KEYS: Readonly<Record<string, string>> = {
  'scaling.healthCheckGraceSeconds': 'router.healthCheckGraceSeconds and tiers.<name>.healthCheckGraceSeconds (each fleet boots in its own time)',
};

/** Reports and removes every moved key present in `root`. */
function takeMovedKeys(root: Json, problems: string[]): void {
  for (const [dotted, destination] of Object.entries(MOVED_KEYS)) {
    const keys = dotted.split('.');
    const parent = keys.slice(0, -1).reduce<unknown>((node, k) => (isObject(node) ? node[k] : undefined), root);
    const last = keys[keys.length - 1];
    if (isObject(parent) && last in parent) {
      problems.push(`${dotted}: got ${formatValue(parent[last])}, expected no such key: it moved to ${destination}`);
      delete parent[last];
    }
  }
}

/** Anything that can be asked for context values: a CDK App's node, or a plain record in tests. */
export type ContextSource = Record<string, unknown>;

/**
 * Loads and validates the configuration of the environment the context selects.
 * Throws ConfigError listing every problem.
 */
export function loadEnvConfig(context: ContextSource): EnvConfig {
  const envName = context.env === undefined ? DEFAULT_ENV : String(context.env);
  const environments = context.environments;
  if (!isObject(environments)) {
    throw new ConfigError([`environments: got ${formatValue(environments)}, expected an object of per-environment overrides in cdk.json`]);
  }
  if (!isObject(environments[envName])) {
    const names = Object.keys(environments);
    throw new ConfigError([`env: got ${formatValue(envName)}, expected one of ${names.join(', ')}${didYouMean(envName, names)}`]);
  }

  const problems: string[] = [];
  const merged: Json = structuredClone(DEFAULTS) as unknown as Json;
  merge(merged, environments[envName] as Json, '', problems);

  const topLevel = new Set([...Object.keys(DEFAULTS), 'account']);
  for (const [key, value] of Object.entries(context)) {
    if (isCdkKey(key)) continue;
    if (!key.includes('.') && !topLevel.has(key)) continue;
    setPath(merged, key, value, problems);
  }
  merged.envName = envName;
  takeMovedKeys(merged, problems);

  const result = envConfigSchema.safeParse(merged, { reportInput: true });
  if (!result.success) {
    for (const issue of result.error.issues) {
      problems.push(...formatIssue(issue, { schema: envConfigSchema, root: merged }));
    }
  }
  if (problems.length > 0 || !result.success) {
    throw new ConfigError([...new Set(problems)]);
  }
  return deepFreeze(result.data);
}
