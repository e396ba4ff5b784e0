import { RemovalPolicy, SecretValue, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { acknowledge } from './acknowledge.js';

export interface TokenCacheProps {
  envName: string;
  tenantIds: readonly string[];
  key: kms.IKey;
}

/**
 * One Secrets Manager secret per tenant, named `epic/<env>/token/<tenant>`, holding that tenant's
 * cached Epic token as JSON. A new secret holds `{}` (no token: readers treat it as a miss). The
 * stack never writes it again; the token minter does, about once per token lifetime.
 */
export class TokenCache extends Construct {
  /** Secret name = prefix + tenant id. */
  readonly secretPrefix: string;
  readonly secrets: ReadonlyMap<string, secretsmanager.Secret>;
  private readonly key: kms.IKey;

  constructor(scope: Construct, id: string, props: TokenCacheProps) {
    super(scope, id);
    this.key = props.key;
    this.secretPrefix = `epic/${props.envName}/token/`;
    const secrets = new Map<string, secretsmanager.Secret>();
    for (const tenant of props.tenantIds) {
      const secret = new secretsmanager.Secret(this, tenant, {
        secretName: `${this.secretPrefix}${tenant}`,
        description: `Cached Epic access token of tenant ${tenant}; written only by the token minter`,
        encryptionKey: props.key,
        secretStringValue: SecretValue.unsafePlainText('{}'),
        removalPolicy: RemovalPolicy.DESTROY,
      });
      acknowledge(
        secret,
        ['AwsSolutions-SMG4', 'HIPAA.Security-SecretsManagerRotationEnabled'],
        'Holds a short-lived Epic access token, not a credential: the token minter replaces it before every ' +
          'expiry (about hourly), which is the rotation. There is nothing for a rotation Lambda to rotate.',
      );
      secrets.set(tenant, secret);
    }
    this.secrets = secrets;
  }

  private arns(): string[] {
    return [...this.secrets.values()].map((s) => s.secretArn);
  }

  /** Readers: `secretsmanager:GetSecretValue` on the tenants' secrets and Decrypt through Secrets Manager. */
  grantRead(role: iam.IRole): void {
    if (this.secrets.size === 0) return;
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadTokenCache',
        actions: ['secretsmanager:GetSecretValue'],
        resources: this.arns(),
      }),
    );
    role.addToPrincipalPolicy(this.keyStatement('DecryptTokenCache', ['kms:Decrypt']));
  }

  /** The minter: read and write the tenants' secrets. */
  grantReadWrite(role: iam.IRole): void {
    if (this.secrets.size === 0) return;
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadWriteTokenCache',
        actions: ['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue'],
        resources: this.arns(),
      }),
    );
    role.addToPrincipalPolicy(
      this.keyStatement('EncryptDecryptTokenCache', ['kms:Decrypt', 'kms:GenerateDataKey']),
    );
  }

  /**
   * Resource policies: only the listed roles may read a token, only the writer may write one.
   * Everyone else (including administrators) is denied; a break-glass read is a stack change.
   */
  restrictAccess(props: { readers: readonly iam.IRole[]; writer: iam.IRole }): void {
    const readerArns = [...props.readers, props.writer].map((r) => r.roleArn);
    for (const secret of this.secrets.values()) {
      secret.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'AllowTokenReaders',
          principals: [...props.readers, props.writer].map((r) => new iam.ArnPrincipal(r.roleArn)),
          actions: ['secretsmanager:GetSecretValue'],
          resources: ['*'],
        }),
      );
      secret.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'AllowTokenWriter',
          principals: [new iam.ArnPrincipal(props.writer.roleArn)],
          actions: ['secretsmanager:PutSecretValue'],
          resources: ['*'],
        }),
      );
      secret.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'DenyReadToAllOthers',
          effect: iam.Effect.DENY,
          principals: [new iam.AnyPrincipal()],
          actions: ['secretsmanager:GetSecretValue'],
          resources: ['*'],
          conditions: { StringNotEquals: { 'aws:PrincipalArn': readerArns } },
        }),
      );
      secret.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'DenyWriteToAllOthers',
          effect: iam.Effect.DENY,
          principals: [new iam.AnyPrincipal()],
          actions: ['secretsmanager:PutSecretValue'],
          resources: ['*'],
          conditions: { StringNotEquals: { 'aws:PrincipalArn': props.writer.roleArn } },
        }),
      );
    }
  }

  private keyStatement(sid: string, actions: string[]): iam.PolicyStatement {
    return new iam.PolicyStatement({
      sid,
      actions,
      resources: [this.key.keyArn],
      conditions: {
        StringEquals: { 'kms:ViaService': `secretsmanager.${Stack.of(this).region}.amazonaws.com` },
      },
    });
  }
}
