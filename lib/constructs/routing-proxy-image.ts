import * as path from 'node:path';
import { IgnoreMode } from 'aws-cdk-lib';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { PROXY_DOCKERFILE } from '../proxy-config/container';

/** The repository root: the proxy image's build context (the proxy bundles `contracts/`). */
export const REPOSITORY_ROOT = path.resolve(__dirname, '..', '..');

/**
 * The routing proxy image, built from `proxy/Dockerfile` with the repository root as context.
 * `cdk synth` only stages the files `.dockerignore` lets through (no Docker needed); `cdk deploy`
 * builds and pushes the image. Built for x86_64 to match the task's runtime platform.
 */
export function routingProxyImage(): ecs.ContainerImage {
  return ecs.ContainerImage.fromAsset(REPOSITORY_ROOT, {
    file: PROXY_DOCKERFILE,
    platform: ecrAssets.Platform.LINUX_AMD64,
    ignoreMode: IgnoreMode.DOCKER,
  });
}
