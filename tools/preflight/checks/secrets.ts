/**
 * Secrets the stack names but does not create: the Hugging Face token the GPU instances read at
 * boot, and an existing client API keys secret. Only DescribeSecret is called: preflight never
 * reads a secret's value, so a placeholder value cannot be told from a real one here.
 */
import { DescribeSecretCommand, DescribeSecretCommandOutput } from '@aws-sdk/client-secrets-manager';
import { fleetSpecs } from '../../../lib/config/fleets';
import { AwsCallError } from '../aws';
import { CheckContext } from '../context';
import { CheckResult, row } from '../result';

/** Name of the Hugging Face token row. */
export const HF_SECRET_CHECK = 'Hugging Face token secret';
/** Name of the API keys row. */
export const API_KEYS_SECRET_CHECK = 'API keys secret';

/** DescribeSecret, or undefined when the secret does not exist. */
async function describe(ctx: CheckContext, name: string): Promise<DescribeSecretCommandOutput | undefined> {
  const sm = ctx.clients(ctx.cfg.region).secrets;
  try {
    return await ctx.call('secretsmanager:DescribeSecret', (abortSignal) => sm.send(new DescribeSecretCommand({ SecretId: name }), { abortSignal }));
  } catch (err) {
    if (err instanceof AwsCallError && err.code === 'ResourceNotFoundException') return undefined;
    throw err;
  }
}

/** Why a described secret cannot be read by GetSecretValue, if it cannot. */
function unusable(s: DescribeSecretCommandOutput): { detail: string; fix: string } | undefined {
  if (s.DeletedDate) {
    return { detail: `scheduled for deletion on ${s.DeletedDate.toISOString().slice(0, 10)}`, fix: `aws secretsmanager restore-secret --secret-id ${s.Name}` };
  }
  const current = Object.values(s.VersionIdsToStages ?? {}).some((stages) => stages.includes('AWSCURRENT'));
  if (!current) {
    return { detail: 'has no current value (no version labelled AWSCURRENT)', fix: `aws secretsmanager put-secret-value --secret-id ${s.Name} --secret-string <value>` };
  }
  return undefined;
}

/** A customer managed KMS key: the stack grants its readers no kms:Decrypt, so only the key policy can let them in. */
function customKey(s: DescribeSecretCommandOutput): string | undefined {
  return s.KmsKeyId && s.KmsKeyId !== 'alias/aws/secretsmanager' ? s.KmsKeyId : undefined;
}

/** The Hugging Face token: required when a served model is gated. */
export async function checkHuggingFaceSecret(ctx: CheckContext): Promise<CheckResult[]> {
  const name = ctx.cfg.vllm.huggingFaceTokenSecretName;
  const region = ctx.cfg.region;
  const gated = fleetSpecs(ctx.cfg).filter((f) => f.servers.some((s) => s.gated)).map((f) => f.name);
  const needed = gated.length > 0;
  const secret = await describe(ctx, name);
  if (!secret) {
    if (!needed) return [row(HF_SECRET_CHECK, 'PASS', `${name} absent in ${region}; no served model is gated, boot runs without a token`)];
    return [row(HF_SECRET_CHECK, 'BLOCK', `${name} not found in ${region}; fleets ${gated.join(', ')} load gated models and stop at boot without it`,
      `accept the model licences on huggingface.co, then: aws secretsmanager create-secret --region ${region} --name ${name} --secret-string <hf_token>`)];
  }
  const problem = unusable(secret);
  if (problem) {
    return [row(HF_SECRET_CHECK, needed ? 'BLOCK' : 'WARN', `${name} ${problem.detail}${needed ? `; fleets ${gated.join(', ')} stop at boot` : ''}`, problem.fix)];
  }
  const key = customKey(secret);
  if (key) {
    return [row(HF_SECRET_CHECK, 'WARN', `${name} is encrypted with KMS key ${key}; the fleet roles get secretsmanager:GetSecretValue but no kms:Decrypt, so boot fails unless the key policy lets them decrypt`,
      'store the token under the default key aws/secretsmanager, or let the fleet instance roles decrypt with that key in its key policy')];
  }
  const changed = secret.LastChangedDate ? `, last changed ${secret.LastChangedDate.toISOString().slice(0, 10)}` : '';
  return [row(HF_SECRET_CHECK, 'PASS', `${name} present in ${region}${changed} (value not read: a placeholder shows only at boot)`)];
}

/** An existing API keys secret (proxy.apiKeysSecretName): the ECS tasks cannot start without it. */
export async function checkApiKeysSecret(ctx: CheckContext): Promise<CheckResult[]> {
  const name = ctx.cfg.proxy.apiKeysSecretName;
  const region = ctx.cfg.region;
  if (!name) return [row(API_KEYS_SECRET_CHECK, 'SKIP', 'created by the deploy (proxy.apiKeysSecretName unset)')];
  const secret = await describe(ctx, name);
  if (!secret) {
    return [row(API_KEYS_SECRET_CHECK, 'BLOCK', `${name} not found in ${region}; the proxy tasks inject it and never start, so the deploy fails`,
      `aws secretsmanager create-secret --region ${region} --name ${name} --secret-string '["<key>"]', or unset proxy.apiKeysSecretName to have one created`)];
  }
  const problem = unusable(secret);
  if (problem) return [row(API_KEYS_SECRET_CHECK, 'BLOCK', `${name} ${problem.detail}; the proxy tasks never start`, problem.fix)];
  const key = customKey(secret);
  if (key) {
    return [row(API_KEYS_SECRET_CHECK, 'WARN', `${name} is encrypted with KMS key ${key}; the proxy tasks fail to start unless the key policy lets the task execution role decrypt`, 'let the proxy task execution role decrypt with that key in its key policy')];
  }
  return [row(API_KEYS_SECRET_CHECK, 'PASS', `${name} present in ${region} (value not read)`)];
}
