/**
 * Renders the user data of a GPU fleet instance from the templates in `userdata/`: pure functions
 * of the fleet spec and a few deployment values, so tests can run the result with stub commands.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { FleetSpec, VllmServerSpec } from '../config/fleets';
import { COMMIT_SHA } from '../catalog/models';
import { Dimension, FLEET_METRIC_SOURCES, FleetMetric } from '../../contracts/metrics';

/** A `{{NAME}}` placeholder. */
const PLACEHOLDER = /\{\{([A-Z0-9_]+)\}\}/g;

/** Directory of the user-data templates. */
export const USERDATA_DIR = path.join(__dirname, '..', '..', 'userdata');

/** Template files, by name in `userdata/`. */
export const TEMPLATE_FILES = [
  'boot.sh',
  'vllm-server.sh',
  'log-shipper.sh',
  'metrics-publisher.sh',
  'vllm@.service',
  'log-shipper@.service',
  'llm-metrics-publisher.service',
] as const;

/** One template file name. */
export type TemplateName = (typeof TEMPLATE_FILES)[number];
/** The text of every template. */
export type Templates = Readonly<Record<TemplateName, string>>;

/** Where the rendered helper files are installed on the instance. */
export const INSTANCE_PATHS = {
  libDir: '/usr/local/lib/llm-tier-router',
  unitDir: '/etc/systemd/system',
} as const;

/** EC2 limit on user data, in bytes before base64 encoding. */
export const USER_DATA_LIMIT_BYTES = 16_384;

/** Seconds between two samples of the metrics publisher (the 10 s scaling alarms need one each). */
export const PUBLISH_INTERVAL_SECONDS = 10;

/** Reads every template from `userdata/`. */
export function loadTemplates(dir: string = USERDATA_DIR): Templates {
  const entries = TEMPLATE_FILES.map((name) => [name, fs.readFileSync(path.join(dir, name), 'utf8')] as const);
  return Object.fromEntries(entries) as Record<TemplateName, string>;
}

/**
 * Fills every `{{NAME}}` of `template` in one pass (values are never re-scanned, so a value may
 * contain braces). Throws when a placeholder has no value or a value has no placeholder, listing all.
 */
export function renderTemplate(name: string, template: string, values: Readonly<Record<string, string>>): string {
  const used = new Set<string>();
  const missing = new Set<string>();
  const out = template.replace(PLACEHOLDER, (whole, key: string) => {
    const value = Object.prototype.hasOwnProperty.call(values, key) ? values[key] : undefined;
    if (typeof value !== 'string') {
      missing.add(key);
      return whole;
    }
    used.add(key);
    return value;
  });
  const unused = Object.keys(values).filter((k) => !used.has(k));
  const problems: string[] = [];
  if (missing.size > 0) problems.push(`no value for placeholder(s) ${[...missing].map((k) => `{{${k}}}`).join(', ')}`);
  if (unused.length > 0) problems.push(`value(s) ${unused.join(', ')} match no placeholder`);
  if (problems.length > 0) {
    throw new Error(`user data template ${name}: ${problems.join('; ')}`);
  }
  return out;
}

/** One shell word that bash reads back as exactly `value` (single quotes, `'` as `'\''`). */
export function shellQuote(value: string | number): string {
  const s = String(value);
  if (s.includes('\0')) throw new Error('shellQuote: a shell word cannot contain a NUL byte');
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Several shell words, e.g. the items of a bash array. */
export function shellWords(values: readonly (string | number)[]): string {
  return values.map(shellQuote).join(' ');
}

/**
 * The vLLM engine flags of one server, every value from config. `--quantization` is never passed:
 * the catalog's AWQ and FP8 builds carry their quantization config, and vLLM picks the faster
 * awq_marlin kernel only when AWQ is detected rather than forced (facts.md). A model that runs code
 * from the hub gets `--trust-remote-code` only with both its revisions pinned (throws otherwise).
 */
export function vllmArgs(server: VllmServerSpec): string[] {
  const args = [
    '--model', server.hubModelId,
    '--served-model-name', server.servedModelName,
    '--port', String(server.port),
    '--max-model-len', String(server.maxModelLen),
    '--max-num-batched-tokens', String(server.maxNumBatchedTokens),
    '--max-num-seqs', String(server.maxNumSeqs),
    '--tensor-parallel-size', String(server.tensorParallelSize),
    '--kv-cache-dtype', server.kvCacheDtype,
    '--gpu-memory-utilization', String(server.gpuMemoryUtilization),
  ];
  if (server.runner === 'pooling') args.push('--runner', 'pooling');
  if (server.revision) {
    // The tokenizer files live in the same repository: the same commit.
    args.push('--revision', server.revision, '--tokenizer-revision', server.revision);
  }
  if (server.trustRemoteCode) {
    if (!isCommit(server.revision) || !isCommit(server.codeRevision)) {
      throw new Error(`server ${server.role} (${server.hubModelId}): got revision ${String(server.revision)} and code revision ${String(server.codeRevision)}, expected two 40-hex commits for a model loaded with --trust-remote-code`);
    }
    args.push('--trust-remote-code', '--code-revision', server.codeRevision as string);
  }
  args.push(...server.extraArgs);
  return args;
}

function isCommit(value: string | undefined): boolean {
  return value !== undefined && COMMIT_SHA.test(value);
}

/** Deployment values of one fleet's user data, besides its spec. */
export interface FleetUserDataInput {
  /** The fleet: name and servers, in start order. */
  readonly fleet: FleetSpec;
  /** Region of the stack (aws cli calls, docker awslogs driver). */
  readonly region: string;
  /** Pinned `vllm/vllm-openai` tag. */
  readonly vllmImageTag: string;
  /** Secrets Manager secret name of the Hugging Face token. */
  readonly huggingFaceTokenSecretName: string;
  /** CloudWatch namespace of the environment. */
  readonly namespace: string;
  /** Name of the fleet's Auto Scaling group (metric dimension). */
  readonly autoScalingGroupName: string;
  /** The fleet's CloudWatch log group. */
  readonly logGroupName: string;
  /** vLLM's HTTP keep-alive; must exceed the load balancer's idle timeout. */
  readonly keepAliveSeconds: number;
  /** How long from its start the boot waits for every server's /health (the fleet's grace). */
  readonly healthWaitSeconds: number;
  /**
   * Where the boot result goes (`cloudformation signal-resource`): the stack and the logical id of
   * the fleet's Auto Scaling group. Either may be a CDK token resolving to a plain string.
   */
  readonly signal: { readonly stackName: string; readonly logicalResourceId: string };
}

/** The rendered user data: the boot script plus each installed file, for tests and inspection. */
export interface RenderedUserData {
  /** The boot script (the whole user data). */
  readonly script: string;
  /** Every file the boot script installs, by absolute path on the instance. */
  readonly files: Readonly<Record<string, { readonly mode: string; readonly content: string }>>;
}

const ROLE_PATTERN = /^[a-z][a-z0-9-]*$/;

/**
 * Drops whole-line comments (not the shebang, not shellcheck directives) from a file embedded in the
 * boot script: the commented originals live in `userdata/`, and user data is capped at 16 KiB.
 */
export function stripComments(text: string): string {
  return text
    .split('\n')
    .filter((line, i) => !/^\s*#/.test(line) || (i === 0 && line.startsWith('#!')) || /^\s*# shellcheck /.test(line))
    .join('\n');
}

/** Renders the boot script of one fleet and every file it installs. */
export function renderFleetUserData(input: FleetUserDataInput, templates: Templates = loadTemplates()): RenderedUserData {
  const { fleet } = input;
  if (fleet.servers.length === 0) {
    throw new Error(`fleet ${fleet.name}: got no servers, expected at least one`);
  }
  for (const s of fleet.servers) {
    if (!ROLE_PATTERN.test(s.role)) throw new Error(`fleet ${fleet.name}: got server role "${s.role}", expected ${ROLE_PATTERN}`);
  }
  const image = `vllm/vllm-openai:${input.vllmImageTag}`;
  const ports = fleet.servers.map((s) => s.port);
  const files: Record<string, { mode: string; content: string }> = {};
  const lib = INSTANCE_PATHS.libDir;
  const units = INSTANCE_PATHS.unitDir;

  fleet.servers.forEach((server, i) => {
    files[`${lib}/vllm-${server.role}.sh`] = {
      mode: '0755',
      content: stripComments(renderTemplate('vllm-server.sh', templates['vllm-server.sh'], {
        ROLE: shellQuote(server.role),
        PORT: shellQuote(server.port),
        VLLM_IMAGE: shellQuote(image),
        AWS_REGION: shellQuote(input.region),
        LOG_GROUP_NAME: shellQuote(input.logGroupName),
        KEEP_ALIVE_SECONDS: shellQuote(input.keepAliveSeconds),
        AFTER_PORT: shellQuote(i === 0 ? '' : fleet.servers[i - 1].port),
        VLLM_ARGS: shellWords(vllmArgs(server)),
      })),
    };
  });
  files[`${lib}/log-shipper.sh`] = {
    mode: '0755',
    content: stripComments(renderTemplate('log-shipper.sh', templates['log-shipper.sh'], {
      VLLM_IMAGE: shellQuote(image),
      AWS_REGION: shellQuote(input.region),
      LOG_GROUP_NAME: shellQuote(input.logGroupName),
    })),
  };
  files[`${lib}/metrics-publisher.sh`] = {
    mode: '0755',
    content: stripComments(renderTemplate('metrics-publisher.sh', templates['metrics-publisher.sh'], {
      NAMESPACE: shellQuote(input.namespace),
      AWS_REGION: shellQuote(input.region),
      ASG_NAME: shellQuote(input.autoScalingGroupName),
      FLEET_NAME: shellQuote(fleet.name),
      SERVER_PORTS: shellWords(ports),
      INTERVAL_SECONDS: shellQuote(PUBLISH_INTERVAL_SECONDS),
      DIMENSION_ASG: shellQuote(Dimension.AutoScalingGroupName),
      DIMENSION_FLEET: shellQuote(Dimension.Fleet),
      METRIC_WAITING: shellQuote(FleetMetric.RequestsWaiting),
      SOURCE_WAITING: shellQuote(FLEET_METRIC_SOURCES.RequestsWaiting),
      METRIC_RUNNING: shellQuote(FleetMetric.RequestsRunning),
      SOURCE_RUNNING: shellQuote(FLEET_METRIC_SOURCES.RequestsRunning),
      METRIC_KV_CACHE: shellQuote(FleetMetric.KvCacheUsage),
      SOURCE_KV_CACHE: shellQuote(FLEET_METRIC_SOURCES.KvCacheUsage),
    })),
  };
  for (const unit of ['vllm@.service', 'log-shipper@.service', 'llm-metrics-publisher.service'] as const) {
    files[`${units}/${unit}`] = { mode: '0644', content: renderTemplate(unit, templates[unit], {}) };
  }

  const triples = Object.entries(files).flatMap(([p, f]) => [f.mode, p, f.content]);
  const script = renderTemplate('boot.sh', templates['boot.sh'], {
    FLEET_NAME: shellQuote(fleet.name),
    AWS_REGION: shellQuote(input.region),
    VLLM_IMAGE: shellQuote(image),
    HF_TOKEN_SECRET_NAME: shellQuote(input.huggingFaceTokenSecretName),
    HF_TOKEN_REQUIRED: shellQuote(fleet.servers.some((s) => s.gated) ? 'true' : 'false'),
    SERVER_ROLES: shellWords(fleet.servers.map((s) => s.role)),
    SERVER_PORTS: shellWords(ports),
    HEALTH_WAIT_SECONDS: shellQuote(input.healthWaitSeconds),
    STACK_NAME: shellQuote(input.signal.stackName),
    SIGNAL_RESOURCE: shellQuote(input.signal.logicalResourceId),
    INSTALL_FILES: shellWords(triples),
  });
  const bytes = Buffer.byteLength(script, 'utf8');
  if (bytes > USER_DATA_LIMIT_BYTES) {
    throw new Error(`fleet ${fleet.name}: user data is ${bytes} bytes, expected at most ${USER_DATA_LIMIT_BYTES} (the EC2 limit)`);
  }
  return { script, files };
}
