/**
 * Reading a synthesized CloudFormation template: resources by type, property access with the path
 * of every value, and the intrinsic functions the scaling resources use (`Ref`, `Fn::GetAtt`,
 * `Fn::Join`, `Fn::Sub`, `Fn::Base64`). A reference whose value only exists at deploy time (a load
 * balancer's DNS name, a policy's ARN) becomes a readable token such as `{{GetAtt:Lb.DNSName}}`;
 * any other intrinsic function stops the simulator with the path where it was found.
 */
import { ConfigError, formatValue } from '../../contracts/validation';

/** One resource of a template. */
export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}

/** The parts of a template the simulator reads. */
export interface CfnTemplate {
  readonly Resources: Record<string, CfnResource>;
}

/** Intrinsic functions the resolver evaluates. */
const SUPPORTED = ['Ref', 'Fn::GetAtt', 'Fn::Join', 'Fn::Sub', 'Fn::Base64'];

/** A problem in the template, reported as `path: got X, expected Y`. */
export class TemplateError extends ConfigError {
  constructor(issues: readonly string[]) {
    super(issues, 'template for the fleet simulator');
    this.name = 'TemplateError';
  }
}

/** Read access to one template. */
export class TemplateReader {
  constructor(readonly template: CfnTemplate) {
    if (!template || typeof template !== 'object' || !template.Resources || typeof template.Resources !== 'object') {
      throw new TemplateError([`Resources: got ${formatValue((template as { Resources?: unknown })?.Resources)}, expected an object of resources`]);
    }
  }

  /** Logical ids and resources of one type, in template order. */
  ofType(type: string): Array<[string, CfnResource]> {
    return Object.entries(this.template.Resources).filter(([, r]) => r.Type === type);
  }

  /** The resource with this logical id, or undefined. */
  get(logicalId: string): CfnResource | undefined {
    return this.template.Resources[logicalId];
  }

  /** The logical id a `{ Ref: id }` points at, or undefined when `value` is not a Ref to a resource. */
  refTarget(value: unknown): string | undefined {
    if (isObject(value) && Object.keys(value).length === 1 && typeof value.Ref === 'string' && value.Ref in this.template.Resources) {
      return value.Ref;
    }
    return undefined;
  }

  /** A property's raw value (intrinsics unresolved). */
  raw(logicalId: string, prop: string): unknown {
    return this.template.Resources[logicalId]?.Properties?.[prop];
  }

  /** Resolves every intrinsic in `value`; `path` names it in errors. */
  resolve(value: unknown, path: string): unknown {
    if (Array.isArray(value)) return value.map((v, i) => this.resolve(v, `${path}[${i}]`));
    if (!isObject(value)) return value;
    const keys = Object.keys(value);
    if (keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::'))) return this.intrinsic(keys[0], value[keys[0]], path);
    const out: Record<string, unknown> = {};
    for (const k of keys) out[k] = this.resolve(value[k], `${path}.${k}`);
    return out;
  }

  /** Resolves `value` and requires a string. */
  string(value: unknown, path: string): string {
    const v = this.resolve(value, path);
    if (typeof v !== 'string') throw new TemplateError([`${path}: got ${formatValue(v)}, expected a string`]);
    return v;
  }

  /** Resolves `value` and requires a finite number (CloudFormation often writes numbers as strings). */
  number(value: unknown, path: string): number {
    const v = this.resolve(value, path);
    const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isFinite(n)) throw new TemplateError([`${path}: got ${formatValue(v)}, expected a number`]);
    return n;
  }

  /** Like {@link number}, but undefined stays undefined. */
  optionalNumber(value: unknown, path: string): number | undefined {
    return value === undefined ? undefined : this.number(value, path);
  }

  private intrinsic(fn: string, arg: unknown, path: string): unknown {
    const at = `${path}.${fn}`;
    switch (fn) {
      case 'Ref': {
        if (typeof arg !== 'string') throw new TemplateError([`${at}: got ${formatValue(arg)}, expected a logical id`]);
        if (arg.startsWith('AWS::')) return `{{${arg}}}`;
        const target = this.template.Resources[arg];
        if (!target) throw new TemplateError([`${at}: got "${arg}", expected the logical id of a resource in this template`]);
        // An Auto Scaling group's Ref is its name: the template sets it, so alarms and policies match by it.
        if (target.Type === 'AWS::AutoScaling::AutoScalingGroup' && typeof target.Properties?.AutoScalingGroupName === 'string') {
          return target.Properties.AutoScalingGroupName;
        }
        return `{{Ref:${arg}}}`;
      }
      case 'Fn::GetAtt': {
        const parts = typeof arg === 'string' ? arg.split('.') : arg;
        if (!Array.isArray(parts) || parts.length !== 2 || parts.some((p) => typeof p !== 'string')) {
          throw new TemplateError([`${at}: got ${formatValue(arg)}, expected [logicalId, attribute]`]);
        }
        return `{{GetAtt:${parts[0]}.${parts[1]}}}`;
      }
      case 'Fn::Join': {
        if (!Array.isArray(arg) || arg.length !== 2 || typeof arg[0] !== 'string' || !Array.isArray(arg[1])) {
          throw new TemplateError([`${at}: got ${formatValue(arg)}, expected [delimiter, [values]]`]);
        }
        const items = (arg[1] as unknown[]).map((v, i) => this.resolve(v, `${at}[1][${i}]`));
        items.forEach((v, i) => {
          if (typeof v !== 'string' && typeof v !== 'number') throw new TemplateError([`${at}[1][${i}]: got ${formatValue(v)}, expected a string`]);
        });
        return items.join(arg[0]);
      }
      case 'Fn::Sub': {
        const [text, vars] = typeof arg === 'string' ? [arg, {}] : Array.isArray(arg) ? [arg[0], arg[1] ?? {}] : [undefined, undefined];
        if (typeof text !== 'string' || !isObject(vars)) throw new TemplateError([`${at}: got ${formatValue(arg)}, expected a string or [string, {variables}]`]);
        return text.replace(/\$\{([^}!][^}]*)\}/g, (_m, name: string) => {
          if (name in vars) return String(this.resolve(vars[name], `${at}[1].${name}`));
          if (name.startsWith('AWS::')) return `{{${name}}}`;
          if (name.includes('.')) return `{{GetAtt:${name}}}`;
          return String(this.intrinsic('Ref', name, at));
        });
      }
      case 'Fn::Base64':
        return this.resolve(arg, at);
      default:
        throw new TemplateError([`${at}: got the intrinsic function ${fn}, expected one the simulator resolves (${SUPPORTED.join(', ')})`]);
    }
  }
}

/** True for a plain JSON object. */
export function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
