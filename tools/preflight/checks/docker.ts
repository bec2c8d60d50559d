/**
 * A container engine for the proxy image: `cdk deploy` builds it with `docker` (or the command
 * `CDK_DOCKER` names, such as finch or podman) and fails the deploy when the engine is absent.
 */
import type { CommandRunner } from '../context';
import { CheckResult, row } from '../result';

/** Name of the Docker row. */
export const DOCKER_CHECK = 'Docker for the image build';

/** Deadline of `docker info`: a hung daemon answers nothing. */
export const DOCKER_TIMEOUT_MS = 15_000;

/** The Docker row: `<docker> info` must exit 0. */
export async function checkDocker(run: CommandRunner, env: Readonly<Record<string, string | undefined>>): Promise<CheckResult[]> {
  const docker = env.CDK_DOCKER || 'docker';
  const via = env.CDK_DOCKER ? ` (CDK_DOCKER=${docker})` : '';
  const install = `install Docker (or set CDK_DOCKER to finch or podman), start it, and check \`${docker} info\``;
  const out = await run(docker, ['info'], { timeoutMs: DOCKER_TIMEOUT_MS });
  if (out.failure === 'not-found') {
    return [row(DOCKER_CHECK, 'BLOCK', `${docker} not found on PATH${via}; cdk deploy builds the proxy image with it`, install)];
  }
  if (out.failure === 'timeout') {
    return [row(DOCKER_CHECK, 'BLOCK', `${docker} info gave no answer within ${DOCKER_TIMEOUT_MS / 1000} s${via}`, `restart the engine (Docker Desktop, or sudo systemctl restart docker), then check \`${docker} info\``)];
  }
  if (out.code !== 0) {
    const reason = (out.stderr.trim().split('\n').find((l) => /error|cannot|permission/i.test(l)) ?? out.stderr.trim().split('\n')[0] ?? '').trim();
    return [row(DOCKER_CHECK, 'BLOCK', `${docker} info exited ${out.code}${via}${reason ? `: ${reason}` : ''}`,
      /permission denied/i.test(reason) ? `add your user to the docker group (sudo usermod -aG docker $USER) and log in again` : `start the engine (Docker Desktop, or sudo systemctl start docker), then check \`${docker} info\``)];
  }
  const version = /Server Version:\s*(\S+)/.exec(out.stdout)?.[1];
  const arch = /Architecture:\s*(\S+)/.exec(out.stdout)?.[1];
  // The proxy image is built for linux/amd64 (the Fargate task's platform): other hosts emulate.
  const emulated = arch && !/^(x86_64|amd64)$/.test(arch) ? `; builds linux/amd64 under emulation on this ${arch} host (slower)` : '';
  return [row(DOCKER_CHECK, 'PASS', `${docker} info exited 0${version ? ` (server ${version})` : ''}${via}${emulated}`)];
}
