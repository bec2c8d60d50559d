/**
 * The cost-allocation tag the cost stack's anomaly monitor and budget filter on. Billing lists a
 * tag key only after resources carry it (usually within 24 hours), and filters on it only once it
 * is activated, so on a first deploy the key is unknown: the deploy succeeds, and the monitor and
 * budget see no cost until the key is activated.
 */
import { ListCostAllocationTagsCommand } from '@aws-sdk/client-cost-explorer';
import { COST_STACK_REGION, costScopeTag } from '../../../lib/cost-stack';
import { CheckContext } from '../context';
import { CheckResult, row } from '../result';

/** Name of the cost-allocation tag row. */
export const COST_TAG_CHECK = 'Cost-allocation tag';

/** The tag row (SKIP when the cost stack is disabled). */
export async function checkCostTag(ctx: CheckContext): Promise<CheckResult[]> {
  const tag = costScopeTag(ctx.cfg.envName);
  if (!ctx.cfg.alarms.costGuardEnabled) {
    return [row(COST_TAG_CHECK, 'SKIP', 'no cost stack (alarms.costGuardEnabled false)')];
  }
  const ce = ctx.clients(COST_STACK_REGION).ce;
  const listed = await ctx.call('ce:ListCostAllocationTags', (abortSignal) =>
    ce.send(new ListCostAllocationTagsCommand({ TagKeys: [tag.key], Type: 'UserDefined' }), { abortSignal }));
  const found = (listed.CostAllocationTags ?? []).find((t) => t.TagKey === tag.key);
  const activate = `aws ce update-cost-allocation-tags-status --cost-allocation-tags-status TagKey=${tag.key},Status=Active (from the organization's management account if the account is a member)`;
  const scope = `the anomaly monitor and budget filter on ${tag.key}=${tag.value}`;
  if (!found) {
    return [row(COST_TAG_CHECK, 'WARN', `${tag.key} is not known to Billing yet (it appears up to 24 h after resources carry it); until it is activated ${scope} and see no cost`, `deploy, then once the key is listed: ${activate}`)];
  }
  if (found.Status !== 'Active') {
    return [row(COST_TAG_CHECK, 'WARN', `${tag.key} is ${found.Status ?? 'not active'}; ${scope} and see no cost until it is active`, activate)];
  }
  return [row(COST_TAG_CHECK, 'PASS', `${tag.key} active (${tag.key}=${tag.value} scopes the monitor and budget)`)];
}
