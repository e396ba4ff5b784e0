import { Duration } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { METRIC, SERVICE_NAME } from '../../functions/core/observability/powertools.js';

export const METRIC_NAMESPACE = 'EpicIntegration';

export interface MonitoringProps {
  envName: string;
  tenantIds: readonly string[];
  functions: Readonly<Record<string, lambda.IFunction>>;
  minter: lambda.IFunction;
  api: apigw.RestApi;
  stageName: string;
  warmerIntervalMinutes: number;
  /** An existing topic; without one the stack creates an encrypted topic to subscribe to. */
  alarmTopicArn?: string;
  topicKey: kms.IKey;
}

/**
 * Alarms and a dashboard. Each alarm's description says what it means and what to do first
 * (docs/DEPLOY.md, "Alarms", has the full runbook). Alarms and OK transitions go to one SNS topic.
 */
export class Monitoring extends Construct {
  readonly topic: sns.ITopic;
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    this.topic = props.alarmTopicArn
      ? sns.Topic.fromTopicArn(this, 'AlarmTopic', props.alarmTopicArn)
      : new sns.Topic(this, 'AlarmTopic', {
          displayName: `Epic integration ${props.envName} alarms`,
          masterKey: props.topicKey,
          enforceSSL: true,
        });
    const warmPeriod = Duration.minutes(props.warmerIntervalMinutes);
    const appMetric = (name: string, dims: Record<string, string>, statistic: string, period: Duration) =>
      new cloudwatch.Metric({
        namespace: METRIC_NAMESPACE,
        metricName: name,
        dimensionsMap: { service: SERVICE_NAME, ...dims },
        statistic,
        period,
      });

    for (const tenant of props.tenantIds) {
      this.alarm(`WarmerFailed-${tenant}`, {
        metric: appMetric(METRIC.warmerTenantFailed, { tenant }, 'Sum', warmPeriod),
        threshold: 1,
        evaluationPeriods: 2,
        datapointsToAlarm: 2,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription:
          `The token warmer failed for tenant ${tenant} in two runs in a row. Check the minter log ` +
          '(TOKEN_MINT_FAILED, epicError) and EpicTokenError: invalid_client = key not registered or JWK Set ' +
          'URL unreachable; unauthorized_client = client id not mapped to an Epic user yet.',
      });
      // The warmer refreshes a token once less than two warmer intervals plus the 60 s safety margin
      // are left, so after every healthy run the token has at least that much; below two intervals
      // a refresh has failed (or the warmer stopped) and the token is about to lapse.
      const nearExpirySeconds = 2 * props.warmerIntervalMinutes * 60;
      this.alarm(`TokenNearExpiry-${tenant}`, {
        metric: appMetric(METRIC.tokenRemainingSeconds, { tenant }, 'Minimum', warmPeriod),
        threshold: nearExpirySeconds,
        evaluationPeriods: 2,
        datapointsToAlarm: 2,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
        alarmDescription:
          `The cached Epic token of tenant ${tenant} has less than ${nearExpirySeconds} s left (or the warmer ` +
          'stopped reporting it). Readers will soon mint on demand or fail with token_unavailable. Check ' +
          'the warmer alarm, the schedule rule and the minter errors.',
      });
    }

    const findSlots = (metricName: string, statistic: string) =>
      new cloudwatch.Metric({
        namespace: 'AWS/ApiGateway',
        metricName,
        dimensionsMap: {
          ApiName: props.api.restApiName,
          Stage: props.stageName,
          Method: 'POST',
          Resource: '/epic/find-slots',
        },
        statistic,
        period: Duration.minutes(5),
      });
    this.alarm('FindSlots5xx', {
      metric: findSlots('5XXError', 'Sum'),
      threshold: 5,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription:
        'find-slots answered 5 or more 5xx in 5 minutes. 502 = Epic refused or failed (see the error code ' +
        'in the access log and the function log), 503 = no token obtainable, 504 = Epic timed out.',
    });
    this.alarm('FindSlotsLatency', {
      metric: findSlots('Latency', 'p95'),
      threshold: 8000,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription:
        'find-slots p95 latency above 8 s for 15 minutes. Usually Epic is slow ($find or Practitioner ' +
        'search); check X-Ray traces, and whether tokens are being minted on the request path (TokenCacheMiss).',
    });

    for (const [name, fn] of Object.entries(props.functions)) {
      this.alarm(`${name}-Errors`, {
        metric: fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription:
          `The ${name} function crashed or timed out (handled errors are HTTP responses, not Lambda ` +
          'errors). Read its log group for the stack trace; check for timeouts against Epic.',
      });
      const isMinter = fn === props.minter;
      this.alarm(`${name}-Throttles`, {
        metric: fn.metricThrottles({ period: Duration.minutes(5), statistic: 'Sum' }),
        // The minter runs one at a time by design and readers retry a throttled invoke, so only a
        // sustained pile-up matters there.
        threshold: isMinter ? 20 : 1,
        evaluationPeriods: isMinter ? 2 : 1,
        datapointsToAlarm: isMinter ? 2 : 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: isMinter
          ? 'Many invokes of the token minter were throttled for 10 minutes: readers are missing the cache ' +
            'far more than once per token lifetime. Check TokenCacheMiss, forced refreshes and minter duration.'
          : `The ${name} function was throttled: the account or regional concurrency limit is reached. ` +
            'Ask for a higher Lambda concurrency quota or find the runaway caller in the access log.',
      });
    }

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `epic-integration-${props.envName}`,
    });
    const api = (metricName: string, statistic: string) =>
      new cloudwatch.Metric({
        namespace: 'AWS/ApiGateway',
        metricName,
        dimensionsMap: { ApiName: props.api.restApiName, Stage: props.stageName },
        statistic,
        period: Duration.minutes(5),
      });
    const fns = Object.entries(props.functions);
    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24 }),
      new cloudwatch.GraphWidget({
        title: 'API requests and errors',
        left: [api('Count', 'Sum'), api('4XXError', 'Sum'), api('5XXError', 'Sum')],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'find-slots latency',
        left: [findSlots('Latency', 'p50'), findSlots('Latency', 'p95'), findSlots('Latency', 'p99')],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Token remaining seconds (per tenant)',
        left: props.tenantIds.map((t) =>
          appMetric(METRIC.tokenRemainingSeconds, { tenant: t }, 'Minimum', warmPeriod),
        ),
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Mints and warmer failures (per tenant)',
        left: props.tenantIds.flatMap((t) => [
          appMetric(METRIC.tokenMinted, { tenant: t }, 'Sum', Duration.minutes(5)),
          appMetric(METRIC.tokenMintFailed, { tenant: t }, 'Sum', Duration.minutes(5)),
          appMetric(METRIC.warmerTenantFailed, { tenant: t }, 'Sum', Duration.minutes(5)),
        ]),
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Lambda errors',
        left: fns.map(([, fn]) => fn.metricErrors({ period: Duration.minutes(5) })),
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Lambda throttles',
        left: fns.map(([, fn]) => fn.metricThrottles({ period: Duration.minutes(5) })),
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Epic token errors (by Epic error) and token cache hits/misses (by source)',
        left: [
          new cloudwatch.MathExpression({
            expression: `SEARCH('{${METRIC_NAMESPACE},epicError,service} MetricName="${METRIC.epicTokenError}"', 'Sum', 300)`,
            label: 'EpicTokenError',
            period: Duration.minutes(5),
          }),
        ],
        right: [
          new cloudwatch.MathExpression({
            expression: `SEARCH('{${METRIC_NAMESPACE},service,source} MetricName="${METRIC.tokenCacheHit}" OR MetricName="${METRIC.tokenCacheMiss}"', 'Sum', 300)`,
            label: 'Token cache',
            period: Duration.minutes(5),
          }),
        ],
        width: 24,
      }),
    );
  }

  private alarm(id: string, props: cloudwatch.AlarmProps): void {
    const alarm = new cloudwatch.Alarm(this, id, { actionsEnabled: true, ...props });
    alarm.addAlarmAction(new actions.SnsAction(this.topic));
    alarm.addOkAction(new actions.SnsAction(this.topic));
    this.alarms.push(alarm);
  }
}
