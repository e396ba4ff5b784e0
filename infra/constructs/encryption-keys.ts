import { Aws, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

/**
 * The symmetric customer managed keys: one for log groups, one for the token cache secrets, one for
 * the alarm topic. Rotation on, retained on stack deletion (data encrypted with them may outlive
 * the stack: retained log groups, secrets in their recovery window).
 */
export class EncryptionKeys extends Construct {
  readonly logs: kms.Key;
  readonly tokenCache: kms.Key;
  readonly alarms: kms.Key;

  constructor(scope: Construct, id: string, props: { envName: string }) {
    super(scope, id);
    const make = (name: string, description: string) =>
      new kms.Key(this, name, {
        description: `${description} (epic-integration ${props.envName})`,
        enableKeyRotation: true,
        removalPolicy: RemovalPolicy.RETAIN,
        alias: `alias/epic-integration/${props.envName}/${name.toLowerCase()}`,
      });
    this.logs = make('Logs', 'Encrypts the CloudWatch log groups');
    this.tokenCache = make('TokenCache', 'Encrypts the per-tenant Epic token cache secrets');
    this.alarms = make('Alarms', 'Encrypts the alarm notification topic');

    this.logs.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchLogsUsesKeyForThisAccountsLogGroups',
        principals: [new iam.ServicePrincipal(`logs.${Aws.REGION}.amazonaws.com`)],
        actions: [
          'kms:Encrypt',
          'kms:Decrypt',
          'kms:ReEncryptFrom',
          'kms:ReEncryptTo',
          'kms:GenerateDataKey',
          'kms:GenerateDataKeyWithoutPlaintext',
          'kms:DescribeKey',
        ],
        resources: ['*'],
        conditions: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:*`,
          },
        },
      }),
    );
    this.alarms.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublishToEncryptedTopic',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
    );
  }
}
