import { z } from 'zod';

const serverSchema = z.object({
  port: z.number().int().min(1).max(65535),
  kind: z.enum(['chat', 'completion', 'embedding']),
  model: z.string().min(1),
});

const fleetSchema = z.object({
  fleet: z.string().min(1),
  asgName: z.string().min(1),
  servers: z.array(serverSchema).min(1),
});

/** Environment the pre-warm function reads; the construct sets every variable. */
const envSchema = z.object({
  FLEETS: z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'expected a JSON array of fleets' });
        return z.NEVER;
      }
    })
    .pipe(z.array(fleetSchema).min(1)),
  METRICS_NAMESPACE: z.string().min(1).max(255),
  TIMEOUT_MS: z.coerce.number().int().min(100).max(300_000).default(20_000),
  CONCURRENCY: z.coerce.number().int().min(1).max(100).default(16),
});

/** Validated configuration of one run. */
export type PrewarmConfig = z.infer<typeof envSchema>;

/** Parses the function's environment; throws one error listing every problem. */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): PrewarmConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`);
    throw new Error(`invalid pre-warm configuration: ${problems.join('; ')}`);
  }
  return parsed.data;
}
