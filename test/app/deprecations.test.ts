import { App } from 'aws-cdk-lib';
import { buildApp } from '../../lib/app';
import { cdkContext, load } from '../config/helpers';

const environments = Object.keys((cdkContext() as { environments: Record<string, unknown> }).environments);

/**
 * aws-cdk-lib prints a warning on every synth for each deprecated property a construct is given; with
 * JSII_DEPRECATED=fail the same check throws, so a synth that passes uses none.
 */
describe('synth uses no deprecated aws-cdk-lib API', () => {
  const previous = process.env.JSII_DEPRECATED;
  beforeAll(() => {
    process.env.JSII_DEPRECATED = 'fail';
  });
  afterAll(() => {
    if (previous === undefined) delete process.env.JSII_DEPRECATED;
    else process.env.JSII_DEPRECATED = previous;
  });

  test.each(environments)('%s (pre-warm on)', (envName) => {
    const app = new App({ context: { ...cdkContext(), env: envName, '@aws-cdk/core:validateAgainstDefaultRules': false } });
    expect(() => buildApp(app, load({ env: envName, 'prewarm.enabled': 'true' }), { nag: false })).not.toThrow();
  });
});
