import { Aws, RemovalPolicy } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as targets from 'aws-cdk-lib/aws-route53-targets';
import { Construct } from 'constructs';
import type { CustomDomainConfig } from '../config/types.js';
import { acknowledge } from './acknowledge.js';
import { FIND_SLOTS_REQUEST, TENANT_REQUEST } from './request-models.js';

export interface EpicApiProps {
  envName: string;
  functions: {
    jwks: lambda.IFunction;
    refresh: lambda.IFunction;
    findSlots: lambda.IFunction;
    preflight: lambda.IFunction;
    integrationPage: lambda.IFunction;
  };
  throttle: { rateLimit: number; burstLimit: number };
  logRetention: logs.RetentionDays;
  logsKey: kms.IKey;
  customDomain?: CustomDomainConfig;
}

/** The route table of API.md; `auth` is what API Gateway enforces. */
export const ROUTES = [
  { method: 'GET', path: '/epic', fn: 'integrationPage', auth: 'NONE' },
  { method: 'GET', path: '/epic/oauth', fn: 'jwks', auth: 'NONE' },
  { method: 'POST', path: '/epic/oauth/refresh', fn: 'refresh', auth: 'AWS_IAM' },
  { method: 'POST', path: '/epic/find-slots', fn: 'findSlots', auth: 'AWS_IAM' },
  { method: 'POST', path: '/epic/preflight', fn: 'preflight', auth: 'AWS_IAM' },
] as const;

/**
 * Access log line: who called what and how it ended. No headers, no query string, no body, so no
 * token, assertion or patient data can reach it. Not `$context.error.validationErrorString` either:
 * the schema validator's text can quote request-body values (e.g. a too-long string). The error
 * fields are API Gateway's fixed texts: the response type (e.g. `BAD_REQUEST_BODY`) and message.
 */
const ACCESS_LOG_FORMAT = apigw.AccessLogFormat.custom(
  JSON.stringify({
    requestId: '$context.requestId',
    requestTime: '$context.requestTime',
    ip: '$context.identity.sourceIp',
    caller: '$context.identity.userArn',
    httpMethod: '$context.httpMethod',
    resourcePath: '$context.resourcePath',
    status: '$context.status',
    protocol: '$context.protocol',
    responseLength: '$context.responseLength',
    responseLatency: '$context.responseLatency',
    integrationLatency: '$context.integrationLatency',
    integrationStatus: '$context.integration.status',
    errorType: '$context.error.responseType',
    errorMessage: '$context.error.message',
    xrayTraceId: '$context.xrayTraceId',
  }),
);

/**
 * The REST API: the routes of API.md, IAM (SigV4) on refresh, find-slots and preflight, public JWK
 * Set and integration page. Stage throttling, access logs, execution logs at ERROR without data
 * tracing, X-Ray. POST bodies are checked against bounded JSON schemas before a function runs (no
 * unknown fields, every string length-capped), which also bounds the request size.
 */
export class EpicApi extends Construct {
  readonly api: apigw.RestApi;
  readonly domain?: apigw.DomainName;
  readonly methods: ReadonlyMap<string, apigw.Method>;
  /** `https://<domain>` or the execute-api stage URL, without a trailing slash. */
  readonly baseUrl: string;

  constructor(scope: Construct, id: string, props: EpicApiProps) {
    super(scope, id);
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      encryptionKey: props.logsKey,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.api = new apigw.RestApi(this, 'Api', {
      restApiName: `epic-integration-${props.envName}`,
      description: 'Epic Backend Systems integration: JWK Set, token refresh, find-slots, preflight',
      endpointTypes: [apigw.EndpointType.REGIONAL],
      // With a custom domain, the registered JWK Set URL is the only way in.
      disableExecuteApiEndpoint: props.customDomain !== undefined,
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
      deployOptions: {
        stageName: props.envName,
        throttlingRateLimit: props.throttle.rateLimit,
        throttlingBurstLimit: props.throttle.burstLimit,
        accessLogDestination: new apigw.LogGroupLogDestination(accessLogs),
        accessLogFormat: ACCESS_LOG_FORMAT,
        loggingLevel: apigw.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        metricsEnabled: true,
        tracingEnabled: true,
      },
    });
    const cwRole = this.api.node.tryFindChild('CloudWatchRole');
    if (cwRole)
      acknowledge(
        cwRole,
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        'The account-level role API Gateway uses for execution logs. AWS documents this managed policy ' +
          'for it; API Gateway needs to create its own log groups, whose names are not known in advance.',
      );

    // Gateway response templates are plain substitution (not VTL), and the validation error text is
    // not JSON-safe (and can quote body values), so the body carries a fixed message in the house
    // error shape; the access log records `errorType: BAD_REQUEST_BODY`, never the violation text.
    this.api.addGatewayResponse('BadRequestBody', {
      type: apigw.ResponseType.BAD_REQUEST_BODY,
      statusCode: '400',
      responseHeaders: { 'Cache-Control': "'no-store'" },
      templates: {
        'application/json': JSON.stringify({
          error: 'invalid_input',
          message:
            'The request body does not match this route (see API.md): an unknown field, a wrong type, ' +
            'a missing tenant, or a value longer than allowed.',
          details: { requestId: '$context.requestId' },
        }),
      },
    });
    const validator = new apigw.RequestValidator(this, 'Validator', {
      restApi: this.api,
      requestValidatorName: 'body-and-parameters',
      validateRequestBody: true,
      validateRequestParameters: true,
    });
    const model = (name: string, schema: apigw.JsonSchema) =>
      this.api.addModel(name, { contentType: 'application/json', modelName: name, schema });
    const tenantModel = model('TenantRequest', TENANT_REQUEST);
    const findSlotsModel = model('FindSlotsRequest', FIND_SLOTS_REQUEST);

    const methods = new Map<string, apigw.Method>();
    for (const route of ROUTES) {
      const resource = this.api.root.resourceForPath(route.path);
      const iamAuth = route.auth === 'AWS_IAM';
      const bodyModel =
        route.path === '/epic/find-slots'
          ? findSlotsModel
          : route.method === 'POST'
            ? tenantModel
            : undefined;
      const method = resource.addMethod(
        route.method,
        new apigw.LambdaIntegration(props.functions[route.fn], { proxy: true, allowTestInvoke: false }),
        {
          authorizationType: iamAuth ? apigw.AuthorizationType.IAM : apigw.AuthorizationType.NONE,
          requestValidator: validator,
          // `$default` too: the functions accept any `application/*+json` (and no Content-Type), and
          // API Gateway skips validation for a content type without a model, so every body is checked.
          ...(bodyModel ? { requestModels: { 'application/json': bodyModel, $default: bodyModel } } : {}),
        },
      );
      if (iamAuth) {
        acknowledge(
          method,
          'AwsSolutions-COG4',
          'Callers are internal AWS services and roles: the method uses IAM (SigV4) authorization, not Cognito.',
        );
      } else {
        acknowledge(
          method,
          ['AwsSolutions-APIG4', 'AwsSolutions-COG4'],
          route.path === '/epic/oauth'
            ? 'The JWK Set URL must be public: Epic fetches it unauthenticated (EPIC.md). It serves public keys only.'
            : 'The integration page is public documentation for Epic analysts; it holds no secret or patient data.',
        );
      }
      methods.set(`${route.method} ${route.path}`, method);
    }
    this.methods = methods;

    const stage = this.api.deploymentStage;
    acknowledge(
      stage,
      'AwsSolutions-APIG3',
      'No WAF web ACL in this stack: protected routes need SigV4, the public ones serve static public data, ' +
        'and the stage is throttled. Attach an organization-wide web ACL outside this stack if policy requires one.',
    );
    acknowledge(
      stage,
      'HIPAA.Security-APIGWCacheEnabledAndEncrypted',
      'Caching is off on purpose: token and slot responses must never be served from a shared cache ' +
        '(Cache-Control: no-store); the JWK Set is cached by Epic per its Cache-Control header.',
    );
    acknowledge(
      stage,
      'HIPAA.Security-APIGWSSLEnabled',
      'Backend client certificates apply to HTTP integrations; every integration here is a Lambda proxy ' +
        'integration inside AWS, so there is no backend endpoint to authenticate.',
    );

    if (props.customDomain) {
      const cd = props.customDomain;
      this.domain = new apigw.DomainName(this, 'Domain', {
        domainName: cd.domainName,
        certificate: acm.Certificate.fromCertificateArn(this, 'Certificate', cd.certificateArn),
        endpointType: apigw.EndpointType.REGIONAL,
        securityPolicy: apigw.SecurityPolicy.TLS_1_2,
      });
      this.domain.addBasePathMapping(this.api, { stage });
      const zone = route53.HostedZone.fromHostedZoneAttributes(this, 'Zone', {
        hostedZoneId: cd.hostedZoneId,
        zoneName: cd.hostedZoneName,
      });
      new route53.ARecord(this, 'AliasRecord', {
        zone,
        recordName: cd.domainName,
        target: route53.RecordTarget.fromAlias(new targets.ApiGatewayDomain(this.domain)),
      });
      this.baseUrl = `https://${cd.domainName}`;
    } else {
      this.baseUrl = `https://${this.api.restApiId}.execute-api.${Aws.REGION}.${Aws.URL_SUFFIX}/${stage.stageName}`;
    }
  }
}
