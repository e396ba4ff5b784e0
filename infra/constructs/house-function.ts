import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ConfigError } from '../../functions/core/errors/app-error.js';

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

/** A file name at the top of the bundle: no directory, not one of esbuild's outputs. */
const BUNDLED_FILE_NAME = /^(?!\.{1,2}$)(?!index\.mjs(\.map)?$)[A-Za-z0-9._-]{1,100}$/;

/** One POSIX shell word, whatever `value` contains (local bundling runs hooks with `bash -c`). */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, "'\\''")}'`;
}

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
  /**
   * Files shipped next to the handler in the bundle: `{ '<name in the bundle>': '<absolute source
   * path>' }`, e.g. `{ 'tenants.json': '/.../cdk.out/EpicIntegration-prod.tenants.json' }`. At run
   * time the file is `$LAMBDA_TASK_ROOT/<name>`. Copied by an esbuild `afterBundling` hook, so it
   * needs local bundling (esbuild from node_modules, which the house bundling always uses).
   */
  bundledFiles?: Readonly<Record<string, string>>;
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
  /** The files shipped next to the handler: name in the bundle -> absolute source path. */
  readonly bundledFiles: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: HouseFunctionProps) {
    super(scope, id);
    const bundledFiles = Object.entries(props.bundledFiles ?? {});
    const problems: string[] = [];
    for (const [name, source] of bundledFiles) {
      if (!BUNDLED_FILE_NAME.test(name))
        problems.push(`bundledFiles: "${name}" must be a plain file name (not index.mjs or its map)`);
      if (!isAbsolute(source) || !existsSync(source))
        problems.push(`bundledFiles.${name}: "${source}" must be an existing absolute path`);
    }
    if (problems.length > 0) throw new ConfigError(`function ${this.node.path}`, problems);
    this.bundledFiles = { ...props.bundledFiles };
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
        ...(bundledFiles.length > 0
          ? {
              // The bundle is staged with AssetHashType.OUTPUT (NodejsFunction's default), so the
              // asset hash is taken over the output directory *after* this hook: a change to a
              // bundled file (e.g. the tenants) is a new hash, a new S3 key and a code update of the
              // function on deploy. test/infra/house-function.test.ts proves it with real bundling.
              commandHooks: {
                beforeBundling: () => [],
                beforeInstall: () => [],
                afterBundling: (_inputDir: string, outputDir: string) =>
                  bundledFiles.map(
                    ([name, source]) => `cp ${shellQuote(source)} ${shellQuote(join(outputDir, name))}`,
                  ),
              },
            }
          : {}),
      },
    });
  }
}
