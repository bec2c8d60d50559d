import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** Instance id the stub metadata service answers. */
export const STUB_INSTANCE_ID = 'i-0123456789abcdef0';
/** IMDSv2 session token the stub metadata service answers. */
export const STUB_IMDS_TOKEN = 'imds-session-token';
/** Hugging Face token the stub Secrets Manager answers. */
export const STUB_HF_TOKEN = 'hf_stubTokenForTests0123456789';

// Every stub appends its name and arguments, tab-separated, to $STUB_LOG.
const RECORD = `{ printf '%s' "$(basename "$0")"; for a in "$@"; do printf '\\t%s' "$a"; done; printf '\\n'; } >>"$STUB_LOG"`;

const STUBS: Record<string, string> = {
  docker: `${RECORD}
if [ "\${1:-}" = run ]; then printf 'HF_TOKEN=%s\\n' "\${HF_TOKEN-<unset>}" >>"$STUB_LOG.env"; fi
exit "\${STUB_DOCKER_EXIT:-0}"`,
  aws: `${RECORD}
case "$1 $2" in
  "secretsmanager get-secret-value")
    if [ -n "\${STUB_SECRET_FAIL:-}" ]; then echo "AccessDeniedException" >&2; exit 254; fi
    printf '%s\\n' "$STUB_HF_TOKEN" ;;
  "cloudformation signal-resource")
    if [ -n "\${STUB_SIGNAL_FAIL:-}" ]; then echo "ValidationError: Stack is in UPDATE_COMPLETE state and can not be signaled" >&2; exit 254; fi ;;
esac`,
  curl: `${RECORD}
for a in "$@"; do
  case "$a" in
    */latest/api/token) printf '%s' "$STUB_IMDS_TOKEN"; exit 0 ;;
    */latest/meta-data/instance-id) printf '%s' "$STUB_INSTANCE_ID"; exit 0 ;;
    http://127.0.0.1:*/health)
      # STUB_HEALTH_FAILURES: how many /health calls fail (connection refused) before they succeed;
      # "always" never succeeds.
      [ -n "\${STUB_HEALTH_FAILURES:-}" ] || exit 0
      [ "$STUB_HEALTH_FAILURES" = always ] && exit 7
      n=$(( $(cat "$STUB_LOG.health" 2>/dev/null || echo 0) + 1 )); echo "$n" >"$STUB_LOG.health"
      [ "$n" -gt "$STUB_HEALTH_FAILURES" ] && exit 0
      exit 7 ;;
    http://127.0.0.1:*/metrics)
      port="\${a#http://127.0.0.1:}"; port="\${port%/metrics}"
      if [ -f "$STUB_METRICS_DIR/$port" ]; then cat "$STUB_METRICS_DIR/$port"; exit 0; fi
      exit 7 ;;
  esac
done
exit 0`,
  // Records the call, then runs the ExecStart of template units (vllm@, log-shipper@) the way systemd
  // would: unit's environment files loaded, %i replaced, paths under the test root.
  systemctl: `${RECORD}
[ "\${1:-}" = enable ] && [ "\${2:-}" = --now ] || exit 0
shift 2
for unit in "$@"; do
  case "$unit" in
    vllm@*.service | log-shipper@*.service) ;;
    *) continue ;;
  esac
  instance="\${unit#*@}"; instance="\${instance%.service}"
  file="$LLM_TIER_ROUTER_ROOT/etc/systemd/system/\${unit%%@*}@.service"
  [ -f "$file" ] || { echo "stub systemctl: no unit file $file" >&2; exit 5; }
  exec_start=$(sed -n 's/^ExecStart=//p' "$file")
  exec_start="\${exec_start//%i/$instance}"
  read -r -a cmd <<<"$exec_start"
  (
    set -a
    while read -r envfile; do . "$LLM_TIER_ROUTER_ROOT$envfile"; done < <(sed -n 's/^EnvironmentFile=//p' "$file")
    set +a
    bash "$LLM_TIER_ROUTER_ROOT\${cmd[0]}" "\${cmd[@]:1}"
  ) || exit $?
done`,
  // Returns at once, or after STUB_SLEEP seconds, so waits bounded by real time end quickly.
  sleep: 'if [ -n "${STUB_SLEEP:-}" ]; then exec /bin/sleep "$STUB_SLEEP"; fi\nexit 0',
};

/** One recorded command: program name and arguments. */
export type Call = string[];

/** A scratch instance: a fake root, stub commands first on PATH, and the record of their calls. */
export class StubInstance {
  readonly dir: string;
  readonly root: string;
  readonly bin: string;
  readonly log: string;
  readonly metricsDir: string;

  constructor(options: { nvme?: boolean } = {}) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-boot-'));
    this.root = path.join(this.dir, 'root');
    this.bin = path.join(this.dir, 'bin');
    this.log = path.join(this.dir, 'calls.log');
    this.metricsDir = path.join(this.dir, 'metrics');
    for (const d of [this.root, this.bin, this.metricsDir]) fs.mkdirSync(d, { recursive: true });
    if (options.nvme) fs.mkdirSync(path.join(this.root, 'opt/dlami/nvme'), { recursive: true });
    for (const [name, body] of Object.entries(STUBS)) {
      fs.writeFileSync(path.join(this.bin, name), `#!/usr/bin/env bash\n${body}\n`, { mode: 0o755 });
    }
    fs.writeFileSync(this.log, '');
  }

  /** Runs a script with the stubs first on PATH; returns its exit status and output. */
  run(script: string, args: string[] = [], env: Record<string, string> = {}) {
    const file = path.join(this.dir, `script-${Math.random().toString(36).slice(2)}.sh`);
    fs.writeFileSync(file, script, { mode: 0o755 });
    return this.exec(file, args, env);
  }

  /** Runs a file with the stubs first on PATH. */
  exec(file: string, args: string[] = [], env: Record<string, string> = {}) {
    const result = spawnSync('bash', [file, ...args], {
      encoding: 'utf8',
      timeout: 30_000,
      env: {
        PATH: `${this.bin}:${process.env.PATH}`,
        HOME: this.dir,
        LLM_TIER_ROUTER_ROOT: this.root,
        STUB_LOG: this.log,
        STUB_METRICS_DIR: this.metricsDir,
        STUB_INSTANCE_ID,
        STUB_IMDS_TOKEN,
        STUB_HF_TOKEN,
        ...env,
      },
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  }

  /** Every recorded call, in order. */
  calls(): Call[] {
    return fs.readFileSync(this.log, 'utf8').split('\n').filter(Boolean).map((l) => l.split('\t'));
  }

  /** A file under the fake root. */
  read(p: string): string {
    return fs.readFileSync(path.join(this.root, p), 'utf8');
  }

  /** Mode bits of a file under the fake root, e.g. `600`. */
  mode(p: string): string {
    return (fs.statSync(path.join(this.root, p)).mode & 0o777).toString(8);
  }

  cleanup(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
