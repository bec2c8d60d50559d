/**
 * The proxy's empty-tier settings written into a synthesized template's LLM_ROUTER_CONFIG, as a
 * proxy that supports them would receive them: the cheapest tiers spill to the next one and the
 * largest holds its requests while its first instance starts.
 */
type Json = Record<string, any>;

/** Hold bounds of the largest tier. */
export interface HoldOptions {
  readonly maxHoldMs?: number;
  readonly holdQueueSize?: number;
}

/** A copy of `template` whose proxy document gives every tier a `whenEmpty` setting. */
export function withEmptyTierSettings(template: unknown, options: HoldOptions = {}): Json {
  const t = structuredClone(template) as Json;
  for (const r of Object.values(t.Resources as Record<string, Json>)) {
    if (r.Type !== 'AWS::ECS::TaskDefinition') continue;
    for (const c of r.Properties.ContainerDefinitions) {
      for (const e of c.Environment ?? []) {
        if (e.Name !== 'LLM_ROUTER_CONFIG') continue;
        const parts: unknown[] = e.Value['Fn::Join'][1];
        // The document is a Join of literal JSON pieces and load balancer DNS names; each tier object
        // is closed by the piece that follows `"pricePer1kOutputTokensUsd":<n>`.
        const count = parts.filter((x) => typeof x === 'string' && /"pricePer1kOutputTokensUsd":[0-9.e-]+\}/.test(x)).length;
        let tier = 0;
        e.Value['Fn::Join'][1] = parts.map((x) => {
          if (typeof x !== 'string') return x;
          return x.replace(/("pricePer1kOutputTokensUsd":[0-9.e-]+)\}/g, (_m, head: string) => {
            const last = tier === count - 1;
            tier++;
            const extra = last
              ? `,"whenEmpty":"hold","maxHoldMs":${options.maxHoldMs ?? 60000},"holdQueueSize":${options.holdQueueSize ?? 64}`
              : ',"whenEmpty":"spill"';
            return `${head}${extra}}`;
          });
        });
      }
    }
  }
  return t;
}
