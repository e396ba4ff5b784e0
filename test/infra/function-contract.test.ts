import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CfnElement } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTenantsFile } from '../../functions/core/config/tenants.js';
import { integrationPageConfigFromEnv } from '../../functions/integration-page/handler.js';
import { readJwksConfig, readMinterConfig, readReaderConfig } from '../../functions/lambda/config.js';
import { ENVIRONMENTS } from '../../infra/config/index.js';
import type { FunctionName } from '../../infra/stack.js';
import { type Synthesized, synthesize } from './synth.js';

/**
 * The environment the stack gives each function, read by the functions' own config readers: the
 * infra <-> function contract, checked from both sides. CloudFormation references are replaced by
 * values of the shape AWS would put there.
 */
const FAKE_ARN = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

function resolve(value: unknown): string {
  if (typeof value === 'string') return value;
  const v = value as Record<string, unknown>;
  if ('Fn::Join' in v) {
    const [sep, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map(resolve).join(sep);
  }
  if ('Fn::GetAtt' in v) return FAKE_ARN;
  if ('Ref' in v) return 'EpicIntegration-nonprod-tokenMinter-AbCdEf123456';
  throw new Error(`cannot resolve ${JSON.stringify(value)}`);
}

const taskRoots: string[] = [];

/**
 * The environment of one function as Lambda presents it: the template's variables (references
 * resolved) plus LAMBDA_TASK_ROOT, a directory holding the files the stack ships in that function's
 * bundle under their bundle names (the real bundles are checked in bundling.test.ts).
 */
function lambdaEnv(s: Synthesized, name: FunctionName): Record<string, string> {
  const fn = s.stack.functions[name];
  const id = s.stack.getLogicalId(fn.function.node.defaultChild as CfnElement);
  const vars = s.template.toJSON().Resources[id].Properties.Environment.Variables as Record<string, unknown>;
  const taskRoot = mkdtempSync(join(tmpdir(), `lambda-task-root-${name}-`));
  taskRoots.push(taskRoot);
  for (const [file, source] of Object.entries(fn.bundledFiles)) copyFileSync(source, join(taskRoot, file));
  return {
    ...Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, resolve(v)])),
    LAMBDA_TASK_ROOT: taskRoot,
  };
}

afterAll(() => {
  for (const dir of taskRoots) rmSync(dir, { recursive: true, force: true });
});

describe('the environment the stack sets (nonprod) is accepted by the function code', () => {
  let s: Synthesized;
  beforeAll(() => {
    s = synthesize(ENVIRONMENTS.nonprod);
  });

  it('by the token readers (refresh, find-slots, preflight)', () => {
    for (const name of ['refresh', 'findSlots', 'preflight'] as const) {
      const config = readReaderConfig(lambdaEnv(s, name));
      expect(config).toMatchObject({
        clientId: '87b94317-7a53-4a96-8a89-998bd31f3ade',
        environment: 'nonprod',
        tokenSecretPrefix: 'epic/nonprod/token/',
        minterFunctionName: 'EpicIntegration-nonprod-tokenMinter-AbCdEf123456',
      });
      expect(config.tenants.tenants.map((t) => t.id)).toEqual(['sandbox']);
    }
  });

  it('by the token minter, with the key list and the force-refresh interval', () => {
    const config = readMinterConfig(lambdaEnv(s, 'tokenMinter'));
    expect(config.signingKeys).toEqual([{ keyId: FAKE_ARN, alg: 'RS384', state: 'active' }]);
    expect(config.forceRefreshMinIntervalSeconds).toBe(30);
  });

  it('by the JWKS function and preflight, with the key list and max-age', () => {
    expect(readJwksConfig(lambdaEnv(s, 'jwks'))).toEqual({
      signingKeys: [{ keyId: FAKE_ARN, alg: 'RS384', state: 'active' }],
      maxAgeSeconds: 3600,
    });
    expect(readJwksConfig(lambdaEnv(s, 'preflight')).signingKeys).toHaveLength(1);
  });

  it('by the integration page, with both client ids', () => {
    const config = integrationPageConfigFromEnv(lambdaEnv(s, 'integrationPage'));
    expect(JSON.stringify(config)).toContain('5a684d86-fa5e-48c0-ad06-233701199d87');
    expect(JSON.stringify(config)).toContain('87b94317-7a53-4a96-8a89-998bd31f3ade');
  });

  it('with the same tenants the local runtime reads from the tenants file', () => {
    expect(readReaderConfig(lambdaEnv(s, 'findSlots')).tenants).toEqual(
      parseTenantsFile(ENVIRONMENTS.nonprod.tenants),
    );
    expect(readMinterConfig(lambdaEnv(s, 'tokenMinter')).tenants).toEqual(
      parseTenantsFile(ENVIRONMENTS.nonprod.tenants),
    );
  });
});

describe('the environment the stack sets (prod, no tenant yet) is accepted by the function code', () => {
  let s: Synthesized;
  beforeAll(() => {
    s = synthesize(ENVIRONMENTS.prod);
  });

  it('by every function that reads tenants, with an empty tenant list', () => {
    for (const name of ['refresh', 'findSlots', 'preflight'] as const) {
      expect(readReaderConfig(lambdaEnv(s, name)).tenants, name).toEqual({ tenants: [] });
    }
    expect(readMinterConfig(lambdaEnv(s, 'tokenMinter')).tenants).toEqual({ tenants: [] });
  });
});
