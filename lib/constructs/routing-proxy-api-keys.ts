import { Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

/** Name of the API-keys secret the stack creates when the config names none. */
export function defaultApiKeysSecretName(envName: string): string {
  return `llm-tier-router/${envName}/proxy-api-keys`;
}

/** Props of {@link RoutingProxyApiKeys}. */
export interface RoutingProxyApiKeysProps {
  /** Environment name: names the created secret. */
  readonly envName: string;
  /**
   * Existing Secrets Manager secret holding the keys, by name.
   * @default - a secret named `llm-tier-router/<env>/proxy-api-keys` holding one generated key
   */
  readonly existingSecretName?: string;
}

/**
 * The client API keys of the endpoint: a Secrets Manager secret whose value is a JSON array of keys
 * or a comma-separated list (the proxy reads both). Created with one generated key, or imported by
 * name. Only the secret's name appears in the template.
 */
export class RoutingProxyApiKeys extends Construct {
  /** The secret holding the keys. */
  readonly secret: secretsmanager.ISecret;
  /** The secret's name, as a plain string (for outputs and documentation). */
  readonly secretName: string;

  constructor(scope: Construct, id: string, props: RoutingProxyApiKeysProps) {
    super(scope, id);
    if (props.existingSecretName !== undefined) {
      this.secretName = props.existingSecretName;
      this.secret = secretsmanager.Secret.fromSecretNameV2(this, 'Secret', props.existingSecretName);
      return;
    }
    this.secretName = defaultApiKeysSecretName(props.envName);
    const secret = new secretsmanager.Secret(this, 'Secret', {
      secretName: this.secretName,
      description: `Client API keys of the llm-tier-router ${props.envName} endpoint: a JSON array of keys or a comma-separated list`,
      // A generated string cannot carry brackets or quotes, so the first value is a one-key
      // comma-separated list; operators add keys by writing a JSON array (README).
      generateSecretString: {
        passwordLength: 48,
        excludePunctuation: true,
        includeSpace: false,
      },
    });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: 'Client API keys are handed to people and rotate by the documented manual procedure (add the new key, move clients, remove the old key); an automatic rotation Lambda would invalidate keys clients still hold.',
    });
    this.secret = secret;
  }

  /**
   * Lets `grantee` read the keys. An imported secret is named by a partial ARN that ECS passes to
   * Secrets Manager as is, so the grant covers that ARN as well as the suffixed one (aws-cdk#18555).
   */
  grantRead(grantee: iam.IGrantable): void {
    this.secret.grantRead(grantee);
    if (this.secret.secretFullArn === undefined) {
      grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
        resources: [this.secret.secretArn],
      }));
    }
  }
}
