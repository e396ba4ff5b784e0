import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Annotations, CfnOutput, Duration, Stack, type StackProps, Stage } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { ConfigError } from '../functions/core/errors/app-error.js';
import { SERVICE_NAME } from '../functions/core/observability/powertools.js';
import type { EnvironmentName, ValidatedEnvironmentConfig } from './config/types.js';
import { acknowledge } from './constructs/acknowledge.js';
import { EpicApi } from './constructs/api.js';
import { EncryptionKeys } from './constructs/encryption-keys.js';
import { HouseFunction } from './constructs/house-function.js';
import { METRIC_NAMESPACE, Monitoring } from './constructs/monitoring.js';
import { SigningKeys } from './constructs/signing-keys.js';
import { TokenCache } from './constructs/token-cache.js';

/** Handler entry files, relative to `functions/` (each exports `handler`). */
export const FUNCTION_ENTRIES = {
  jwks: 'jwks/handler.ts',
  refresh: 'refresh/handler.ts',
  tokenMinter: 'token-minter/handler.ts',
  findSlots: 'find-slots/handler.ts',
  preflight: 'preflight/handler.ts',
  integrationPage: 'integration-page/handler.ts',
} as const;
export type FunctionName = keyof typeof FUNCTION_ENTRIES;

/** Lambda's limit on the total size of a function's environment variables. */
export const LAMBDA_ENVIRONMENT_LIMIT_BYTES = 4096;

/** The tenants file's name inside each bundle that reads tenants (TENANTS_FILE). */
export const BUNDLED_TENANTS_FILE = 'tenants.json';

export interface EpicIntegrationStackProps extends StackProps {
  config: ValidatedEnvironmentConfig;
  /** Both environments' Epic client ids (the integration page and preflight show both). */
  epicClientIds: Readonly<Record<EnvironmentName, string>>;
  /** Absolute path of the repo root. */
  projectRoot: string;
}

/**
 * One environment of the Epic integration: the API, six functions, the signing keys, one token
 * secret per tenant, the token warmer schedule, alarms and a dashboard.
 */
export class EpicIntegrationStack extends Stack {
  readonly functions: Readonly<Record<FunctionName, HouseFunction>>;
  readonly signingKeys: SigningKeys;
  readonly tokenCache: TokenCache;
  readonly api: EpicApi;
  /**
   * The validated tenants file this stack wrote into the cloud assembly directory and ships in the
   * bundle of every function that reads tenants (absolute path).
   */
  readonly tenantsFilePath: string;
  /** The token warmer schedule; undefined while the environment has no tenant. */
  readonly warmerRule?: events.Rule;
  readonly monitoring: Monitoring;

  constructor(scope: Construct, id: string, props: EpicIntegrationStackProps) {
    super(scope, id, props);
    const { config } = props;
    const env = config.envName;
    const tenantIds = config.tenants.tenants.map((t) => t.id);
    const retention = config.logRetentionDays as logs.RetentionDays;

    const keys = new EncryptionKeys(this, 'EncryptionKeys', { envName: env });
    this.signingKeys = new SigningKeys(this, 'SigningKeys', { envName: env, keys: config.signingKeys });
    this.tokenCache = new TokenCache(this, 'TokenCache', { envName: env, tenantIds, key: keys.tokenCache });

    // The tenants travel inside the bundles, not in the environment: Lambda caps a function's
    // environment at 4 KB (about five tenants), a file in the bundle has no such limit. The stack
    // writes the validated file into its cloud assembly directory (Stage.outdir: `cdk.out` for the
    // CLI, the App's outdir or a fresh temporary directory in tests), before the functions are
    // bundled; each tenant-reading function copies it in as `tenants.json` (HouseFunction
    // `bundledFiles`) and reads it at init (TENANTS_FILE, relative to LAMBDA_TASK_ROOT).
    // A tenants change changes the bundles' asset hashes, so a deploy updates those functions.
    const stage = Stage.of(this);
    if (!stage) throw new ConfigError(`stack ${id}`, ['(root): must be created inside a CDK App or Stage']);
    // The CLI passes a relative outdir (CDK_OUTDIR=cdk.out); the copy hook needs an absolute path.
    const outdir = resolve(stage.outdir);
    mkdirSync(outdir, { recursive: true });
    this.tenantsFilePath = join(outdir, `${this.artifactId}.tenants.json`);
    writeFileSync(this.tenantsFilePath, `${JSON.stringify(config.tenants, null, 2)}\n`);
    const tenantsFile = { TENANTS_FILE: BUNDLED_TENANTS_FILE };
    const bundledTenants = { [BUNDLED_TENANTS_FILE]: this.tenantsFilePath };

    const publicBaseUrl = config.customDomain ? `https://${config.customDomain.domainName}` : undefined;
    const common: Record<string, string> = {
      EPIC_CLIENT_ID: config.epicClientId,
      EPIC_ENVIRONMENT: env,
      POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
      POWERTOOLS_METRICS_NAMESPACE: METRIC_NAMESPACE,
      POWERTOOLS_LOG_LEVEL: config.logLevel,
    };
    const clientIds = {
      EPIC_CLIENT_ID_NONPROD: props.epicClientIds.nonprod,
      EPIC_CLIENT_ID_PROD: props.epicClientIds.prod,
      ...(publicBaseUrl ? { PUBLIC_BASE_URL: publicBaseUrl } : {}),
    };
    const signingKeysJson = this.toJsonString(this.signingKeys.keyConfigs({ includeRetired: true }));
    const tokenPrefix = { TOKEN_SECRET_PREFIX: this.tokenCache.secretPrefix };

    const make = (
      name: FunctionName,
      description: string,
      environment: Record<string, string>,
      extra: {
        timeout?: Duration;
        memorySize?: number;
        reservedConcurrentExecutions?: number;
        bundledFiles?: Record<string, string>;
      } = {},
    ) => {
      checkEnvironmentSize(name, environment, config);
      return new HouseFunction(this, name, {
        entry: join(props.projectRoot, 'functions', FUNCTION_ENTRIES[name]),
        description: `epic-integration ${env}: ${description}`,
        environment,
        projectRoot: props.projectRoot,
        logRetention: retention,
        logsKey: keys.logs,
        ...extra,
      });
    };

    const tokenMinter = make(
      'tokenMinter',
      'token minter and warmer, the only signer and token writer',
      {
        ...common,
        ...tenantsFile,
        ...tokenPrefix,
        SIGNING_KEYS_JSON: signingKeysJson,
        FORCE_REFRESH_MIN_INTERVAL_SECONDS: String(config.forceRefreshMinIntervalSeconds),
        // The minter refreshes a token once less than two of these plus the safety margin are left.
        WARMER_INTERVAL_SECONDS: String(config.warmerIntervalMinutes * 60),
      },
      // One at a time across the fleet: single-flight minting (ARCHITECTURE.md, decision 3). A warm
      // run visits every tenant, hence the longer timeout.
      { timeout: Duration.seconds(60), reservedConcurrentExecutions: 1, bundledFiles: bundledTenants },
    );
    const minterName = { MINTER_FUNCTION_NAME: tokenMinter.function.functionName };
    const jwks = make(
      'jwks',
      'JWK Set (GET /epic/oauth)',
      {
        ...common,
        SIGNING_KEYS_JSON: signingKeysJson,
        JWKS_MAX_AGE_SECONDS: String(config.jwksMaxAgeSeconds),
      },
      { timeout: Duration.seconds(10), memorySize: 256 },
    );
    const refresh = make(
      'refresh',
      'token refresh (POST /epic/oauth/refresh)',
      { ...common, ...tenantsFile, ...tokenPrefix, ...minterName },
      { timeout: Duration.seconds(28), bundledFiles: bundledTenants },
    );
    const findSlots = make(
      'findSlots',
      'find slots (POST /epic/find-slots)',
      { ...common, ...tenantsFile, ...tokenPrefix, ...minterName },
      { timeout: Duration.seconds(28), bundledFiles: bundledTenants },
    );
    const preflight = make(
      'preflight',
      'Epic setup preflight (POST /epic/preflight)',
      {
        ...common,
        ...tenantsFile,
        ...tokenPrefix,
        ...minterName,
        ...clientIds,
        SIGNING_KEYS_JSON: signingKeysJson,
      },
      { timeout: Duration.seconds(28), bundledFiles: bundledTenants },
    );
    const integrationPage = make(
      'integrationPage',
      'integration page (GET /epic)',
      { ...common, ...clientIds },
      { timeout: Duration.seconds(10), memorySize: 256 },
    );
    this.functions = { jwks, refresh, tokenMinter, findSlots, preflight, integrationPage };

    // Who may do what (the IAM facts the infra tests check).
    this.signingKeys.grantSign(tokenMinter.role);
    this.signingKeys.restrictSignTo(tokenMinter.role);
    this.signingKeys.grantGetPublicKey(tokenMinter.role);
    this.signingKeys.grantGetPublicKey(jwks.role);
    this.signingKeys.grantGetPublicKey(preflight.role);
    this.tokenCache.grantReadWrite(tokenMinter.role);
    const readers = [refresh, findSlots, preflight];
    for (const reader of readers) {
      this.tokenCache.grantRead(reader.role);
      reader.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'InvokeTokenMinter',
          actions: ['lambda:InvokeFunction'],
          resources: [tokenMinter.function.functionArn],
        }),
      );
    }
    this.tokenCache.restrictAccess({ readers: readers.map((r) => r.role), writer: tokenMinter.role });

    // The token warmer: the minter on a schedule. With no tenant (prod before its first health
    // system) there is nothing to warm, so there is no schedule.
    if (tenantIds.length > 0) {
      this.warmerRule = new events.Rule(this, 'TokenWarmerSchedule', {
        description: `Runs the token minter as the token warmer every ${config.warmerIntervalMinutes} min`,
        schedule: events.Schedule.rate(Duration.minutes(config.warmerIntervalMinutes)),
      });
      this.warmerRule.addTarget(
        new eventTargets.LambdaFunction(tokenMinter.function, {
          event: events.RuleTargetInput.fromObject({ action: 'warm' }),
          // A failed run is superseded by the next one; alarms watch the per-tenant outcome.
          retryAttempts: 0,
        }),
      );
    }

    this.api = new EpicApi(this, 'Api', {
      envName: env,
      functions: {
        jwks: jwks.function,
        refresh: refresh.function,
        findSlots: findSlots.function,
        preflight: preflight.function,
        integrationPage: integrationPage.function,
      },
      throttle: config.apiThrottle,
      logRetention: retention,
      logsKey: keys.logs,
      customDomain: config.customDomain,
    });

    this.monitoring = new Monitoring(this, 'Monitoring', {
      envName: env,
      tenantIds,
      functions: Object.fromEntries(Object.entries(this.functions).map(([n, f]) => [n, f.function])),
      minter: tokenMinter.function,
      api: this.api.api,
      stageName: this.api.api.deploymentStage.stageName,
      warmerIntervalMinutes: config.warmerIntervalMinutes,
      alarmTopicArn: config.alarmTopicArn,
      topicKey: keys.alarms,
    });

    this.acknowledgeFunctionFindings();
    if (env === 'prod') this.warnIfProdIsIncomplete(config);

    new CfnOutput(this, 'ApiUrl', { value: `${this.api.baseUrl}/`, description: 'Base URL of the API' });
    new CfnOutput(this, 'JwkSetUrl', {
      value: `${this.api.baseUrl}/epic/oauth`,
      description: 'Register this JWK Set URL with Epic for this environment',
    });
    new CfnOutput(this, 'RefreshEndpoint', {
      value: `${this.api.baseUrl}/epic/oauth/refresh`,
      description: 'Token refresh endpoint (IAM / SigV4)',
    });
    for (const k of this.signingKeys.keys) {
      new CfnOutput(this, `SigningKey-${k.config.name}`, {
        value: `${k.config.state} ${k.config.alg} ${k.key.keyArn}`,
        description: `Signing key ${k.config.name}: state, algorithm, KMS key ARN`,
      });
    }
  }

  /**
   * infra/config/prod.ts asks for `customDomain` and `alarmTopicArn` before the first prod deploy.
   * A warning, not an error: prod must still synthesize offline (CI) without them.
   */
  private warnIfProdIsIncomplete(config: ValidatedEnvironmentConfig): void {
    if (!config.customDomain) {
      Annotations.of(this).addWarningV2(
        'epic-integration:prod-without-custom-domain',
        'prod has no customDomain: its JWK Set URL is the execute-api URL, which changes if the API is ' +
          'ever replaced. Do not register it with Epic; set customDomain in infra/config/prod.ts before ' +
          'the first prod deploy (docs/DEPLOY.md).',
      );
    }
    if (!config.alarmTopicArn) {
      Annotations.of(this).addWarningV2(
        'epic-integration:prod-without-alarm-topic',
        'prod has no alarmTopicArn: alarms notify only a topic this stack creates, which nobody is ' +
          'subscribed to yet. Set alarmTopicArn in infra/config/prod.ts before the first prod deploy.',
      );
    }
  }

  /** Findings that hold for every function, acknowledged on each function with the reason. */
  private acknowledgeFunctionFindings(): void {
    for (const [name, hf] of Object.entries(this.functions)) {
      const fn = hf.function;
      acknowledge(
        fn,
        'AwsSolutions-L1',
        'nodejs24.x is the newest Node.js runtime available in every region (CDK Runtime.NODEJS_LATEST); ' +
          'nodejs26.x is not yet available everywhere. HOUSE_RUNTIME moves when it is.',
      );
      acknowledge(
        fn,
        'HIPAA.Security-LambdaInsideVPC',
        'The function only calls Epic over the internet (TLS) and AWS APIs; it reaches no private network ' +
          'resource, so a VPC would add NAT egress and cold-start cost without isolating anything.',
      );
      acknowledge(
        fn,
        'HIPAA.Security-LambdaDLQ',
        name === 'tokenMinter'
          ? 'The scheduled warm run is idempotent and superseded by the next run minutes later; a replayed ' +
              'stale run has no value. Per-tenant failures are metrics with alarms; reader invokes are synchronous.'
          : 'Invoked synchronously by API Gateway: the caller receives the error, there is no event to keep.',
      );
      if (name !== 'tokenMinter') {
        acknowledge(
          fn,
          'HIPAA.Security-LambdaConcurrency',
          'Readers and public endpoints scale with demand (ARCHITECTURE.md, decision 3); the stage throttle ' +
            'bounds them. Only the token minter reserves concurrency (1, for single-flight minting).',
        );
      }
      const policy = hf.role.node.tryFindChild('DefaultPolicy');
      if (policy) {
        acknowledge(
          policy,
          'AwsSolutions-IAM5[Resource::*]',
          'Only the X-Ray actions xray:PutTraceSegments and xray:PutTelemetryRecords use Resource "*": ' +
            'X-Ray supports no resource-level permissions. Every other statement names its resources.',
        );
        acknowledge(
          policy,
          'HIPAA.Security-IAMNoInlinePolicy',
          'The policy is attached to exactly one function role and built from resource-scoped grants in ' +
            'this stack; a separate managed policy would add a lifecycle without narrowing access.',
        );
      }
    }
  }
}

/**
 * Lambda caps a function's environment at 4 KB. The tenants are not in the environment (they ship
 * in the bundle), so what grows is SIGNING_KEYS_JSON, one entry per configured key including retired
 * ones. Fail at synth, naming the largest variables, rather than at deploy. Key ARNs and the minter's
 * name are tokens here; they are counted at their real maximum length.
 */
function checkEnvironmentSize(
  name: string,
  environment: Record<string, string>,
  config: ValidatedEnvironmentConfig,
): void {
  const ARN_LENGTH = 100;
  const sizes = Object.entries(environment).map(([k, v]): [string, number] => {
    if (k === 'SIGNING_KEYS_JSON') return [k, (60 + ARN_LENGTH) * config.signingKeys.length];
    if (k === 'MINTER_FUNCTION_NAME') return [k, 64];
    return [k, Buffer.byteLength(v)];
  });
  const bytes = sizes.reduce((sum, [k, size]) => sum + Buffer.byteLength(k) + size, 0);
  if (bytes > LAMBDA_ENVIRONMENT_LIMIT_BYTES) {
    const largest = sizes
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([k, size]) => `${k} ~${size} bytes`)
      .join(', ');
    throw new ConfigError(`function ${name}`, [
      `environment: the environment of ${name} would be about ${bytes} bytes, over Lambda's ` +
        `${LAMBDA_ENVIRONMENT_LIMIT_BYTES}-byte limit (largest: ${largest}). SIGNING_KEYS_JSON grows with ` +
        'every signing key, retired ones included: remove keys retired long ago from signingKeys.',
    ]);
  }
}
