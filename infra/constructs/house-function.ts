import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/**
 * The Lambda runtime of every function. nodejs24.x is the newest runtime CDK lists as available in
 * every region (`Runtime.NODEJS_LATEST`); move to nodejs26.x once it is everywhere.
 */
export const HOUSE_RUNTIME = lambda.Runtime.NODEJS_24_X;

/**
 * ESM output, matching the repo (`"type": "module"`). A few CommonJS dependencies call `require`
 * for Node built-ins, which ESM lacks, so the banner defines one.
 */
const ESM_REQUIRE_SHIM =
  "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);";

export interface HouseFunctionProps {
  /** Absolute path of the handler file (`export const handler`). */
  entry: string;
  description: string;
  environment: Record<string, string>;
  /** Absolute path of the repo root (holds package-lock.json). */
  projectRoot: string;
  logRetention: logs.RetentionDays;
  /** Customer managed key that encrypts the function's log group. */
  logsKey: kms.IKey;
  timeout?: Duration;
  memorySize?: number;
  reservedConcurrentExecutions?: number;
}

/**
 * One function with the house defaults:
 * - NodejsFunction bundled by esbuild: ARM64, Node.js 24, ESM, minified, source maps (with
 *   `--enable-source-maps` so stack traces point at the TypeScript).
 * - **The AWS SDK is bundled, not taken from the runtime** (`externalModules: []`). The runtime's
 *   SDK version changes under us without notice; bundling ships the exact version the tests ran
 *   against (package-lock.json), and esbuild keeps only the three clients we use, so the bundle
 *   stays small and the cold start does not load the whole runtime SDK.
 * - Its own role (no AWS managed policy), and an explicit log group with retention, encrypted with
 *   a customer managed key; the role may write to that log group only.
 * - Active X-Ray tracing, JSON logs, a short timeout (API Gateway's limit is 29 s).
 */
export class HouseFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: HouseFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention,
      encryptionKey: props.logsKey,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${props.description}`,
    });
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WriteOwnLogGroup',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );
    this.function = new NodejsFunction(this, 'Function', {
      entry: props.entry,
      handler: 'handler',
      description: props.description,
      runtime: HOUSE_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(20),
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      tracing: lambda.Tracing.ACTIVE,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      // Stack traces point at the TypeScript sources through the bundled source maps.
      environment: { NODE_OPTIONS: '--enable-source-maps', ...props.environment },
      projectRoot: props.projectRoot,
      depsLockFilePath: `${props.projectRoot}/package-lock.json`,
      bundling: {
        format: OutputFormat.ESM,
        target: 'node24',
        mainFields: ['module', 'main'],
        banner: ESM_REQUIRE_SHIM,
        minify: true,
        sourceMap: true,
        sourceMapMode: SourceMapMode.DEFAULT,
        sourcesContent: false,
        externalModules: [],
        forceDockerBundling: false,
      },
    });
  }
}
