import { App } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildApp } from '../../lib/app';
import { cdkContext, load } from '../config/helpers';

const environments = Object.keys((cdkContext() as { environments: Record<string, unknown> }).environments);

describe('cdk-nag AwsSolutions on the fleets', () => {
  test.each(environments)('%s: no unacknowledged finding on the fleets, the internal ALB or their roles', (envName) => {
    const app = new App({ context: { ...cdkContext(), env: envName, '@aws-cdk/core:validateAgainstDefaultRules': false } });
    buildApp(app, load({ env: envName }), { nag: false });
    const report = new AwsSolutionsChecks().validateScope(app);
    const findings = report.violations.flatMap((v) => v.violatingResources
      .filter((r) => (r.constructPath ?? '').includes('/Fleets/'))
      .map((r) => `${v.ruleName}: ${r.constructPath}`));
    expect(findings).toEqual([]);
  });
});
