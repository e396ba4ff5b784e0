import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { App, type CfnElement } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/build-app.js';
import { ENVIRONMENTS } from '../../infra/config/index.js';
import type { EpicIntegrationStack, FunctionName } from '../../infra/stack.js';
import {
  CDK_JSON_CONTEXT,
  configWith,
  identityGrants,
  resourcesGranted,
  resourcesOfType,
  rolesGranted,
  type Synthesized,
  synthesize,
} from './synth.js';

const roleId = (stack: EpicIntegrationStack, name: FunctionName) =>
  stack.getLogicalId(stack.functions[name].role.node.defaultChild as CfnElement);
const fnId = (stack: EpicIntegrationStack, name: FunctionName) =>
  stack.getLogicalId(stack.functions[name].function.node.defaultChild as CfnElement);
const roles = (stack: EpicIntegrationStack, ...names: FunctionName[]) =>
  names.map((n) => roleId(stack, n)).sort();
const envOf = (s: Synthesized, name: FunctionName): Record<string, unknown> => {
  const fn = s.template.toJSON().Resources[fnId(s.stack, name)] as {
    Properties: { Environment: { Variables: Record<string, unknown> } };
  };
  return fn.Properties.Environment.Variables;
};

const tenantIdsIn = (path: string): string[] =>
  (JSON.parse(readFileSync(path, 'utf8')) as { tenants: { id: string }[] }).tenants.map((t) => t.id);

let nonprod: Synthesized;
let prod: Synthesized;

beforeAll(() => {
  nonprod = synthesize(ENVIRONMENTS.nonprod);
  prod = synthesize(ENVIRONMENTS.prod);
});

describe('both environments', () => {
  it('synthesize offline with their own client id and tenants', () => {
    // Arrange / Act: beforeAll synthesized both.
    // Assert
    expect(envOf(nonprod, 'jwks').EPIC_CLIENT_ID).toBe('87b94317-7a53-4a96-8a89-998bd31f3ade');
    expect(envOf(prod, 'jwks').EPIC_CLIENT_ID).toBe('5a684d86-fa5e-48c0-ad06-233701199d87');
    expect(tenantIdsIn(nonprod.stack.tenantsFilePath)).toEqual(['sandbox']);
    expect(JSON.parse(readFileSync(prod.stack.tenantsFilePath, 'utf8'))).toEqual({ tenants: [] });
  });

  it('write the tenants file into their own cloud assembly directory', () => {
    expect(dirname(nonprod.stack.tenantsFilePath)).toBe(nonprod.app.outdir);
    expect(basename(nonprod.stack.tenantsFilePath)).toBe('EpicIntegration-nonprod.tenants.json');
    expect(basename(prod.stack.tenantsFilePath)).toBe('EpicIntegration-prod.tenants.json');
  });

  it('write the tenants file to an absolute path when the assembly directory is relative (as from the CLI)', () => {
    // Arrange: `cdk synth` passes CDK_OUTDIR=cdk.out; the bundling hook copies from another cwd.
    const dir = mkdtempSync(join(tmpdir(), 'epic-relative-outdir-'));
    try {
      const app = new App({
        outdir: relative(process.cwd(), dir),
        context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [] },
        builtinCloudFormationValidation: false,
      });
      // Act
      const stack = buildApp(app, ENVIRONMENTS.prod);
      // Assert
      expect(stack.tenantsFilePath).toBe(join(dir, 'EpicIntegration-prod.tenants.json'));
      expect(existsSync(stack.tenantsFilePath)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('ship the tenants in the bundle of the functions that read them, never in an environment', () => {
    for (const s of [nonprod, prod]) {
      for (const name of ['tokenMinter', 'refresh', 'findSlots', 'preflight'] as const) {
        expect(envOf(s, name).TENANTS_FILE, name).toBe('tenants.json');
        expect(s.stack.functions[name].bundledFiles, name).toEqual({
          'tenants.json': s.stack.tenantsFilePath,
        });
      }
      for (const name of ['jwks', 'integrationPage'] as const) {
        expect(envOf(s, name).TENANTS_FILE, name).toBeUndefined();
        expect(s.stack.functions[name].bundledFiles, name).toEqual({});
      }
      expect(JSON.stringify(s.template.toJSON())).not.toContain('TENANTS_JSON');
    }
  });

  it('synthesize with 40 tenants, all of them in the tenants file', () => {
    // Arrange: far more than the ~5 tenants that fitted in a 4 KB Lambda environment.
    const sandbox = (ENVIRONMENTS.nonprod.tenants as { tenants: Record<string, unknown>[] }).tenants[0];
    const ids = Array.from({ length: 40 }, (_, i) => `health-system-${String(i).padStart(2, '0')}`);
    const config = configWith('nonprod', (c) => {
      c.tenants = { tenants: ids.map((id) => ({ ...sandbox, id, name: `Health system ${id}` })) };
    });
    // Act
    const many = synthesize(config);
    // Assert
    expect(tenantIdsIn(many.stack.tenantsFilePath)).toEqual(ids);
    expect(many.stack.tokenCache.secrets.size).toBe(40);
    expect(envOf(many, 'findSlots').TENANTS_FILE).toBe('tenants.json');
  });

  it('give prod no sandbox tenant and no token secret', () => {
    expect(resourcesOfType(prod.template, 'AWS::SecretsManager::Secret')).toEqual({});
    expect(JSON.stringify(prod.template.toJSON())).not.toContain('fhir.epic.com');
  });
});

describe('functions', () => {
  it('all run Node.js 24 on ARM64 with tracing, JSON logs and source maps', () => {
    for (const s of [nonprod, prod]) {
      const fns = Object.values(resourcesOfType(s.template, 'AWS::Lambda::Function'));
      expect(fns).toHaveLength(6);
      for (const fn of fns) {
        expect(fn.Properties).toMatchObject({
          Runtime: 'nodejs24.x',
          Architectures: ['arm64'],
          TracingConfig: { Mode: 'Active' },
          LoggingConfig: { LogFormat: 'JSON' },
          Environment: { Variables: { NODE_OPTIONS: '--enable-source-maps' } },
        });
        expect(fn.Properties?.Timeout).toBeLessThanOrEqual(60);
      }
    }
  });

  it('each log to their own log group, and every log group has the configured retention and a CMK', () => {
    for (const [s, days] of [
      [nonprod, ENVIRONMENTS.nonprod.logRetentionDays],
      [prod, ENVIRONMENTS.prod.logRetentionDays],
    ] as const) {
      const groups = resourcesOfType(s.template, 'AWS::Logs::LogGroup');
      // six functions + the API access log
      expect(Object.keys(groups)).toHaveLength(7);
      for (const group of Object.values(groups)) {
        expect(group.Properties).toMatchObject({ RetentionInDays: days, KmsKeyId: expect.anything() });
      }
      const used = Object.values(resourcesOfType(s.template, 'AWS::Lambda::Function')).map(
        (fn) => (fn.Properties!.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref,
      );
      expect(new Set(used).size).toBe(6);
      for (const id of used) expect(groups[id]).toBeDefined();
    }
  });

  it('reserve concurrency 1 for the token minter and for no other function', () => {
    const reserved = Object.entries(resourcesOfType(nonprod.template, 'AWS::Lambda::Function'))
      .filter(([, fn]) => fn.Properties?.ReservedConcurrentExecutions !== undefined)
      .map(([id, fn]) => [id, fn.Properties?.ReservedConcurrentExecutions]);
    expect(reserved).toEqual([[fnId(nonprod.stack, 'tokenMinter'), 1]]);
  });

  it('receive the configuration contract of the function code', () => {
    const minter = envOf(nonprod, 'tokenMinter');
    expect(minter).toMatchObject({
      EPIC_ENVIRONMENT: 'nonprod',
      POWERTOOLS_SERVICE_NAME: 'epic-integration',
      POWERTOOLS_METRICS_NAMESPACE: 'EpicIntegration',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      TOKEN_SECRET_PREFIX: 'epic/nonprod/token/',
      FORCE_REFRESH_MIN_INTERVAL_SECONDS: '30',
      WARMER_INTERVAL_SECONDS: '300',
      SIGNING_KEYS_JSON: expect.anything(),
    });
    expect(minter.MINTER_FUNCTION_NAME).toBeUndefined();
    expect(envOf(nonprod, 'jwks')).toMatchObject({
      JWKS_MAX_AGE_SECONDS: '3600',
      SIGNING_KEYS_JSON: expect.anything(),
    });
    for (const reader of ['refresh', 'findSlots', 'preflight'] as const) {
      expect(envOf(nonprod, reader)).toMatchObject({
        TOKEN_SECRET_PREFIX: 'epic/nonprod/token/',
        MINTER_FUNCTION_NAME: { Ref: fnId(nonprod.stack, 'tokenMinter') },
      });
    }
    for (const page of ['integrationPage', 'preflight'] as const) {
      expect(envOf(nonprod, page)).toMatchObject({
        EPIC_CLIENT_ID_NONPROD: '87b94317-7a53-4a96-8a89-998bd31f3ade',
        EPIC_CLIENT_ID_PROD: '5a684d86-fa5e-48c0-ad06-233701199d87',
      });
      // Without a custom domain the handlers derive the base URL from the request.
      expect(envOf(nonprod, page).PUBLIC_BASE_URL).toBeUndefined();
    }
    for (const name of ['jwks', 'refresh', 'findSlots', 'integrationPage'] as const) {
      expect(envOf(nonprod, name).SIGNING_KEYS_JSON === undefined).toBe(name !== 'jwks');
    }
  });

  it('pass the signing keys as KMS key ARNs with algorithm and state', () => {
    const value = envOf(nonprod, 'tokenMinter').SIGNING_KEYS_JSON as { 'Fn::Join': [string, unknown[]] };
    const parts = value['Fn::Join'][1];
    const keyId = nonprod.stack.getLogicalId(
      nonprod.stack.signingKeys.keys[0]!.key.node.defaultChild as CfnElement,
    );
    expect(parts).toEqual([
      '[{"keyId":"',
      { 'Fn::GetAtt': [keyId, 'Arn'] },
      '","alg":"RS384","state":"active"}]',
    ]);
  });
});

describe('IAM: who may do what', () => {
  it('only the token minter may kms:Sign, and only with the signing keys', () => {
    expect(rolesGranted(nonprod.template, 'kms:Sign')).toEqual(roles(nonprod.stack, 'tokenMinter'));
    const keyId = nonprod.stack.getLogicalId(
      nonprod.stack.signingKeys.keys[0]!.key.node.defaultChild as CfnElement,
    );
    expect(resourcesGranted(nonprod.template, 'kms:Sign')).toEqual([{ 'Fn::GetAtt': [keyId, 'Arn'] }]);
  });

  it('the JWKS function may only read public keys and write its own logs', () => {
    const jwksGrants = identityGrants(nonprod.template).filter((g) =>
      g.roles.includes(roleId(nonprod.stack, 'jwks')),
    );
    expect(jwksGrants.flatMap((g) => g.actions).sort()).toEqual([
      'kms:GetPublicKey',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'xray:PutTelemetryRecords',
      'xray:PutTraceSegments',
    ]);
    expect(rolesGranted(nonprod.template, 'kms:GetPublicKey')).toEqual(
      roles(nonprod.stack, 'jwks', 'tokenMinter', 'preflight'),
    );
  });

  it('only the minter writes token secrets; readers only GetSecretValue on the tenant secrets', () => {
    const secretRef = {
      Ref: nonprod.stack.getLogicalId(
        nonprod.stack.tokenCache.secrets.get('sandbox')!.node.defaultChild as CfnElement,
      ),
    };
    expect(rolesGranted(nonprod.template, 'secretsmanager:PutSecretValue')).toEqual(
      roles(nonprod.stack, 'tokenMinter'),
    );
    expect(rolesGranted(nonprod.template, 'secretsmanager:GetSecretValue')).toEqual(
      roles(nonprod.stack, 'tokenMinter', 'refresh', 'findSlots', 'preflight'),
    );
    for (const r of resourcesGranted(nonprod.template, 'secretsmanager:GetSecretValue'))
      expect(r).toEqual(secretRef);
    const secretsActions = identityGrants(nonprod.template)
      .flatMap((g) => g.actions)
      .filter((a) => a.startsWith('secretsmanager:'));
    expect(new Set(secretsActions)).toEqual(
      new Set(['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue']),
    );
  });

  it('token secrets are encrypted with the token CMK, usable only through Secrets Manager', () => {
    const secret = Object.values(resourcesOfType(nonprod.template, 'AWS::SecretsManager::Secret'))[0]!;
    const tokenKey = nonprod.stack.getLogicalId(
      (
        nonprod.stack.node.findChild('EncryptionKeys').node.findChild('TokenCache') as unknown as {
          node: { defaultChild: CfnElement };
        }
      ).node.defaultChild,
    );
    expect(secret.Properties).toMatchObject({
      Name: 'epic/nonprod/token/sandbox',
      KmsKeyId: { 'Fn::GetAtt': [tokenKey, 'Arn'] },
    });
    const decrypt = identityGrants(nonprod.template).filter((g) => g.actions.includes('kms:Decrypt'));
    expect(decrypt.flatMap((g) => g.roles).sort()).toEqual(
      roles(nonprod.stack, 'tokenMinter', 'refresh', 'findSlots', 'preflight'),
    );
    for (const g of decrypt) {
      expect(g.resources).toEqual([{ 'Fn::GetAtt': [tokenKey, 'Arn'] }]);
      expect(g.conditions).toMatchObject({ StringEquals: { 'kms:ViaService': expect.anything() } });
    }
  });

  it('the secret resource policy allows only the functions that need the token and denies everyone else', () => {
    const policies = Object.values(resourcesOfType(nonprod.template, 'AWS::SecretsManager::ResourcePolicy'));
    expect(policies).toHaveLength(1);
    const statements = (
      policies[0]!.Properties as { ResourcePolicy: { Statement: Record<string, unknown>[] } }
    ).ResourcePolicy.Statement;
    const arn = (name: FunctionName) => ({ 'Fn::GetAtt': [roleId(nonprod.stack, name), 'Arn'] });
    const bySid = Object.fromEntries(statements.map((s) => [s.Sid, s]));
    expect(bySid.DenyReadToAllOthers).toMatchObject({
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 'secretsmanager:GetSecretValue',
      Condition: {
        StringNotEquals: {
          'aws:PrincipalArn': [arn('refresh'), arn('findSlots'), arn('preflight'), arn('tokenMinter')],
        },
      },
    });
    expect(bySid.DenyWriteToAllOthers).toMatchObject({
      Effect: 'Deny',
      Action: 'secretsmanager:PutSecretValue',
      Condition: { StringNotEquals: { 'aws:PrincipalArn': arn('tokenMinter') } },
    });
    expect(bySid.AllowTokenWriter).toMatchObject({ Effect: 'Allow', Principal: { AWS: arn('tokenMinter') } });
  });

  it('only the readers may invoke the token minter, and only the minter function itself', () => {
    expect(rolesGranted(nonprod.template, 'lambda:InvokeFunction')).toEqual(
      roles(nonprod.stack, 'refresh', 'findSlots', 'preflight'),
    );
    for (const r of resourcesGranted(nonprod.template, 'lambda:InvokeFunction')) {
      expect(r).toEqual({ 'Fn::GetAtt': [fnId(nonprod.stack, 'tokenMinter'), 'Arn'] });
    }
  });

  it('no identity policy grants a wildcard action, and Resource "*" appears only for X-Ray', () => {
    for (const s of [nonprod, prod]) {
      for (const g of identityGrants(s.template)) {
        for (const action of g.actions) expect(action).not.toContain('*');
        if (g.resources.some((r) => typeof r === 'string' && r.includes('*'))) {
          expect(g.actions.sort()).toEqual(['xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
        }
      }
    }
  });

  it('no function role carries an AWS managed policy', () => {
    for (const name of Object.keys(nonprod.stack.functions) as FunctionName[]) {
      const role = nonprod.template.toJSON().Resources[roleId(nonprod.stack, name)];
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    }
  });
});

describe('KMS keys', () => {
  it('signing keys are asymmetric SIGN_VERIFY keys with an alias, and every key is retained', () => {
    const keys = resourcesOfType(nonprod.template, 'AWS::KMS::Key');
    const all = nonprod.template.toJSON().Resources as Record<
      string,
      { DeletionPolicy?: string; UpdateReplacePolicy?: string }
    >;
    for (const id of Object.keys(keys)) {
      expect(all[id]).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    }
    nonprod.template.hasResourceProperties('AWS::KMS::Key', { KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' });
    nonprod.template.hasResourceProperties('AWS::KMS::Alias', {
      AliasName: 'alias/epic-integration/nonprod/signing-2026-12',
    });
    const symmetric = Object.values(keys).filter((k) => k.Properties?.KeyUsage === undefined);
    expect(symmetric).toHaveLength(3);
    for (const k of symmetric) expect(k.Properties?.EnableKeyRotation).toBe(true);
  });

  it('key policies trust only the account root (IAM decides) and give services exact actions under a condition', () => {
    for (const s of [nonprod, prod]) {
      for (const key of Object.values(resourcesOfType(s.template, 'AWS::KMS::Key'))) {
        const statements = (key.Properties!.KeyPolicy as { Statement: Record<string, unknown>[] }).Statement;
        for (const st of statements) {
          const actions = ([] as string[]).concat(st.Action as string | string[]);
          const principal = st.Principal as { AWS?: unknown; Service?: unknown };
          if (st.Effect === 'Deny') {
            // the only Deny: kms:Sign for everyone but the token minter (checked below)
            expect(st).toMatchObject({ Principal: { AWS: '*' }, Action: 'kms:Sign' });
          } else if (principal.Service !== undefined) {
            // services (CloudWatch Logs, CloudWatch alarms) get exact actions, under a condition
            for (const a of actions) expect(a).not.toContain('*');
            expect(st.Condition, JSON.stringify(st)).toBeDefined();
          } else {
            // everything else is the account root: access is then decided by IAM policies
            expect(JSON.stringify(principal.AWS), JSON.stringify(st)).toMatch(/:root"\]\]\}$/);
          }
        }
      }
    }
  });

  it('every signing key the stack creates denies kms:Sign to every principal but the token minter role', () => {
    // Arrange: a rotation, so retired, active and next keys are all created.
    const rotation = synthesize(
      configWith('nonprod', (c) => {
        c.signingKeys = [
          { name: 'signing-2026-06', alg: 'RS384', state: 'retired' },
          { name: 'signing-2026-12', alg: 'RS384', state: 'active' },
          { name: 'signing-2027-06', alg: 'ES384', state: 'next' },
        ];
      }),
    );
    for (const s of [nonprod, prod, rotation]) {
      const minterArn = { 'Fn::GetAtt': [roleId(s.stack, 'tokenMinter'), 'Arn'] };
      const signingKeys = Object.values(resourcesOfType(s.template, 'AWS::KMS::Key')).filter(
        (k) => k.Properties?.KeyUsage === 'SIGN_VERIFY',
      );
      expect(signingKeys).toHaveLength(s.stack.signingKeys.keys.length);
      for (const key of signingKeys) {
        // Act
        const statements = (key.Properties!.KeyPolicy as { Statement: Record<string, unknown>[] }).Statement;
        const denies = statements.filter((st) => st.Effect === 'Deny');
        // Assert
        expect(denies).toEqual([
          {
            Sid: 'DenySignToAllButTokenMinter',
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 'kms:Sign',
            Resource: '*',
            Condition: { StringNotEquals: { 'aws:PrincipalArn': minterArn } },
          },
        ]);
        // key administration by the account root is unaffected
        expect(statements).toContainEqual(
          expect.objectContaining({ Effect: 'Allow', Action: 'kms:*', Resource: '*' }),
        );
      }
    }
  });

  it('the key policy deny adds no dependency cycle: key needs the minter role, the grant needs the key', () => {
    // Arrange
    const t = nonprod.template.toJSON() as {
      Resources: Record<string, { Type: string; DependsOn?: string[]; Properties?: unknown }>;
    };
    const refs = (value: unknown): Set<string> => {
      const found = new Set<string>();
      const walk = (v: unknown): void => {
        if (Array.isArray(v)) v.forEach(walk);
        else if (v !== null && typeof v === 'object') {
          for (const [k, inner] of Object.entries(v)) {
            if (k === 'Ref' && typeof inner === 'string') found.add(inner);
            else if (k === 'Fn::GetAtt' && Array.isArray(inner)) found.add(String(inner[0]));
            else walk(inner);
          }
        }
      };
      walk(value);
      return found;
    };
    const graph = new Map(
      Object.entries(t.Resources).map(([id, r]) => [
        id,
        [...refs(r.Properties), ...(r.DependsOn ?? [])].filter((d) => d in t.Resources),
      ]),
    );
    // Act: depth-first search for a back edge.
    const state = new Map<string, 'visiting' | 'done'>();
    const cycles: string[] = [];
    const visit = (id: string, path: string[]): void => {
      if (state.get(id) === 'done') return;
      if (state.get(id) === 'visiting') {
        cycles.push([...path.slice(path.indexOf(id)), id].join(' -> '));
        return;
      }
      state.set(id, 'visiting');
      for (const dep of graph.get(id) ?? []) visit(dep, [...path, id]);
      state.set(id, 'done');
    };
    for (const id of graph.keys()) visit(id, []);
    // Assert
    expect(cycles).toEqual([]);
    const keyId = nonprod.stack.getLogicalId(
      nonprod.stack.signingKeys.keys[0]!.key.node.defaultChild as CfnElement,
    );
    expect(graph.get(keyId)).toContain(roleId(nonprod.stack, 'tokenMinter'));
    expect(graph.get(roleId(nonprod.stack, 'tokenMinter'))).not.toContain(keyId);
  });

  describe('during a rotation (old key retired, current active, new ES384 key next)', () => {
    let s: Synthesized;
    beforeAll(() => {
      s = synthesize(
        configWith('nonprod', (c) => {
          c.signingKeys = [
            { name: 'signing-2026-06', alg: 'RS384', state: 'retired' },
            { name: 'signing-2026-12', alg: 'RS384', state: 'active', keySpec: 'RSA_3072' },
            { name: 'signing-2027-06', alg: 'ES384', state: 'next' },
          ];
        }),
      );
    });

    it('keeps every key (logical ids follow names, not states) and creates the next key as P-384', () => {
      const ids = s.stack.signingKeys.keys.map((k) =>
        s.stack.getLogicalId(k.key.node.defaultChild as CfnElement),
      );
      expect(ids[1]).toBe(
        nonprod.stack.getLogicalId(nonprod.stack.signingKeys.keys[0]!.key.node.defaultChild as CfnElement),
      );
      s.template.hasResourceProperties('AWS::KMS::Key', {
        KeySpec: 'ECC_NIST_P384',
        KeyUsage: 'SIGN_VERIFY',
      });
      s.template.hasResourceProperties('AWS::KMS::Key', { KeySpec: 'RSA_3072', KeyUsage: 'SIGN_VERIFY' });
    });

    it('grants no one anything on the retired key, and publishes next and active to the JWKS function', () => {
      const [retired, active, next] = s.stack.signingKeys.keys.map((k) => ({
        'Fn::GetAtt': [s.stack.getLogicalId(k.key.node.defaultChild as CfnElement), 'Arn'],
      }));
      const jwksResources = identityGrants(s.template)
        .filter((g) => g.roles.includes(roleId(s.stack, 'jwks')) && g.actions.includes('kms:GetPublicKey'))
        .flatMap((g) => g.resources);
      expect(jwksResources).toEqual(expect.arrayContaining([active, next]));
      const everything = identityGrants(s.template).flatMap((g) => g.resources);
      expect(everything).not.toContainEqual(retired);
      expect(resourcesGranted(s.template, 'kms:Sign')).toEqual(expect.arrayContaining([active, next]));
    });

    it('flows all three states into SIGNING_KEYS_JSON', () => {
      const joined = JSON.stringify(envOf(s, 'jwks').SIGNING_KEYS_JSON);
      for (const fragment of [
        '\\"state\\":\\"retired\\"',
        '\\"state\\":\\"active\\"',
        '\\"alg\\":\\"ES384\\",\\"state\\":\\"next\\"',
      ]) {
        expect(joined).toContain(fragment);
      }
    });
  });

  it('references an existing key by ARN without creating, changing or granting more than on a new key', () => {
    const arn = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const s = synthesize(
      configWith('nonprod', (c) => {
        c.signingKeys = [{ name: 'imported', alg: 'RS384', state: 'active', existingKeyArn: arn }];
      }),
    );
    expect(
      Object.values(resourcesOfType(s.template, 'AWS::KMS::Key')).filter(
        (k) => k.Properties?.KeyUsage === 'SIGN_VERIFY',
      ),
    ).toEqual([]);
    expect(resourcesGranted(s.template, 'kms:Sign')).toEqual([arn]);
    expect(s.template.toJSON().Outputs.SigningKeyimported.Value).toBe(`active RS384 ${arn}`);
  });
});

describe('API', () => {
  const methodsOf = (s: Synthesized) =>
    Object.values(resourcesOfType(s.template, 'AWS::ApiGateway::Method')).map(
      (m) => m.Properties as Record<string, unknown>,
    );
  const pathOf = (s: Synthesized, method: Record<string, unknown>): string => {
    const all = s.template.toJSON().Resources;
    const parts: string[] = [];
    let ref = method.ResourceId as { Ref?: string };
    while (ref.Ref) {
      const res = all[ref.Ref].Properties;
      parts.unshift(res.PathPart);
      ref = res.ParentId;
    }
    return `/${parts.join('/')}`;
  };

  it('uses IAM authorization on exactly refresh, find-slots and preflight', () => {
    const table = methodsOf(nonprod)
      .map((m) => `${m.HttpMethod} ${pathOf(nonprod, m)} ${m.AuthorizationType}`)
      .sort();
    expect(table).toEqual([
      'GET /epic NONE',
      'GET /epic/oauth NONE',
      'POST /epic/find-slots AWS_IAM',
      'POST /epic/oauth/refresh AWS_IAM',
      'POST /epic/preflight AWS_IAM',
    ]);
  });

  it('validates POST bodies against bounded schemas that reject unknown fields', () => {
    const modelIds = Object.fromEntries(
      Object.entries(resourcesOfType(nonprod.template, 'AWS::ApiGateway::Model')).map(([id, m]) => [
        m.Properties?.Name,
        id,
      ]),
    );
    const posts = methodsOf(nonprod).filter((m) => m.HttpMethod === 'POST');
    expect(posts).toHaveLength(3);
    for (const m of posts) {
      const model = {
        Ref: modelIds[pathOf(nonprod, m) === '/epic/find-slots' ? 'FindSlotsRequest' : 'TenantRequest'],
      };
      expect(m.RequestValidatorId).toBeDefined();
      // `$default` as well: a body sent as e.g. application/merge-patch+json (which the functions
      // accept) is validated and size-capped too; API Gateway skips content types without a model.
      expect(m.RequestModels).toEqual({ 'application/json': model, $default: model });
    }
    const models = Object.values(resourcesOfType(nonprod.template, 'AWS::ApiGateway::Model'));
    expect(models).toHaveLength(2);
    for (const model of models) {
      const schema = model.Properties?.Schema as {
        additionalProperties: boolean;
        properties: Record<string, { maxLength?: number; type: string }>;
      };
      expect(schema.additionalProperties).toBe(false);
      for (const [, p] of Object.entries(schema.properties))
        if (p.type === 'string') expect(p.maxLength).toBeLessThanOrEqual(300);
    }
  });

  it('throttles the stage and writes access logs without headers, query strings or bodies', () => {
    const stage = Object.values(resourcesOfType(nonprod.template, 'AWS::ApiGateway::Stage'))[0]!
      .Properties as Record<string, unknown>;
    expect(stage).toMatchObject({
      StageName: 'nonprod',
      TracingEnabled: true,
      MethodSettings: [
        {
          HttpMethod: '*',
          ResourcePath: '/*',
          DataTraceEnabled: false,
          LoggingLevel: 'ERROR',
          ThrottlingRateLimit: 50,
          ThrottlingBurstLimit: 100,
        },
      ],
    });
    const format = (stage.AccessLogSetting as { Format: string }).Format;
    // Exactly these $context fields: nothing that can carry a header, query string or body value
    // (not $context.error.validationErrorString, whose text can quote a body value).
    const fields = Object.values(JSON.parse(format) as Record<string, string>).sort();
    expect(fields).toEqual(
      [
        '$context.requestId',
        '$context.requestTime',
        '$context.identity.sourceIp',
        '$context.identity.userArn',
        '$context.httpMethod',
        '$context.resourcePath',
        '$context.status',
        '$context.protocol',
        '$context.responseLength',
        '$context.responseLatency',
        '$context.integrationLatency',
        '$context.integration.status',
        '$context.error.responseType',
        '$context.error.message',
        '$context.xrayTraceId',
      ].sort(),
    );
    expect(format.match(/\$context\.[A-Za-z.]+/g)).toHaveLength(fields.length);
    expect(Object.keys(JSON.parse(format))).toContain('caller');
    for (const forbidden of ['header', 'body', 'querystring', 'authorization', 'token']) {
      expect(format.toLowerCase()).not.toContain(forbidden);
    }
  });

  it('outputs the API URL, the JWK Set URL, the refresh endpoint and the key states', () => {
    const outputs = nonprod.template.toJSON().Outputs;
    expect(JSON.stringify(outputs.JwkSetUrl.Value)).toMatch(/\/epic\/oauth"\]\]\}$/);
    expect(JSON.stringify(outputs.RefreshEndpoint.Value)).toMatch(/\/epic\/oauth\/refresh"\]\]\}$/);
    expect(outputs.ApiUrl).toBeDefined();
    expect(JSON.stringify(outputs.SigningKeysigning202612.Value)).toContain('active RS384 ');
  });

  describe('with a custom domain', () => {
    let s: Synthesized;
    beforeAll(() => {
      s = synthesize(
        configWith('prod', (c) => {
          c.customDomain = {
            domainName: 'epic.example.org',
            certificateArn:
              'arn:aws:acm:eu-west-1:111122223333:certificate/12345678-1234-1234-1234-123456789012',
            hostedZoneId: 'Z0123456789ABCDEFGHIJ',
            hostedZoneName: 'example.org',
          };
        }),
      );
    });

    it('serves the JWK Set at https://<domain>/epic/oauth and refresh at /epic/oauth/refresh', () => {
      const outputs = s.template.toJSON().Outputs;
      expect(outputs.JwkSetUrl.Value).toBe('https://epic.example.org/epic/oauth');
      expect(outputs.RefreshEndpoint.Value).toBe('https://epic.example.org/epic/oauth/refresh');
      s.template.hasResourceProperties('AWS::ApiGateway::DomainName', {
        DomainName: 'epic.example.org',
        SecurityPolicy: 'TLS_1_2',
      });
      s.template.hasResourceProperties('AWS::Route53::RecordSet', {
        Name: 'epic.example.org.',
        Type: 'A',
        HostedZoneId: 'Z0123456789ABCDEFGHIJ',
      });
      s.template.hasResourceProperties('AWS::ApiGateway::RestApi', { DisableExecuteApiEndpoint: true });
    });

    it('gives the integration page and preflight PUBLIC_BASE_URL', () => {
      expect(envOf(s, 'integrationPage').PUBLIC_BASE_URL).toBe('https://epic.example.org');
      expect(envOf(s, 'preflight').PUBLIC_BASE_URL).toBe('https://epic.example.org');
      expect(envOf(s, 'jwks').PUBLIC_BASE_URL).toBeUndefined();
    });
  });
});

describe('token warmer schedule', () => {
  it('runs the minter every warmer interval with {"action":"warm"}', () => {
    nonprod.template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      State: 'ENABLED',
      Targets: [
        {
          Arn: { 'Fn::GetAtt': [fnId(nonprod.stack, 'tokenMinter'), 'Arn'] },
          Input: JSON.stringify({ action: 'warm' }),
          RetryPolicy: { MaximumRetryAttempts: 0 },
        },
      ],
    });
    nonprod.template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
      FunctionName: { 'Fn::GetAtt': [fnId(nonprod.stack, 'tokenMinter'), 'Arn'] },
    });
  });
});

describe('alarms', () => {
  const alarmsOf = (s: Synthesized) =>
    Object.values(resourcesOfType(s.template, 'AWS::CloudWatch::Alarm')).map(
      (a) => a.Properties as Record<string, unknown>,
    );

  it('watch warmer failures and token age per tenant on the metrics the code publishes', () => {
    const warmer = alarmsOf(nonprod).find((a) => a.MetricName === 'WarmerTenantFailed');
    expect(warmer).toMatchObject({
      Namespace: 'EpicIntegration',
      Dimensions: expect.arrayContaining([
        { Name: 'service', Value: 'epic-integration' },
        { Name: 'tenant', Value: 'sandbox' },
      ]),
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    const age = alarmsOf(nonprod).find((a) => a.MetricName === 'TokenRemainingSeconds');
    expect(age).toMatchObject({
      Statistic: 'Minimum',
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 600,
    });
  });

  it('watch find-slots 5xx and latency, and errors and throttles of every function', () => {
    const metricNames = alarmsOf(prod).map((a) => `${a.Namespace}/${a.MetricName}`);
    expect(metricNames.filter((m) => m === 'AWS/ApiGateway/5XXError')).toHaveLength(1);
    expect(metricNames.filter((m) => m === 'AWS/ApiGateway/Latency')).toHaveLength(1);
    expect(metricNames.filter((m) => m === 'AWS/Lambda/Errors')).toHaveLength(6);
    expect(metricNames.filter((m) => m === 'AWS/Lambda/Throttles')).toHaveLength(6);
    // prod has no tenant yet, so no per-tenant alarm
    expect(metricNames.filter((m) => m.startsWith('EpicIntegration/'))).toEqual([]);
  });

  it('notify one encrypted topic on alarm and on OK', () => {
    const topicId = Object.keys(resourcesOfType(nonprod.template, 'AWS::SNS::Topic'))[0]!;
    for (const alarm of alarmsOf(nonprod)) {
      expect(alarm.AlarmActions).toEqual([{ Ref: topicId }]);
      expect(alarm.OKActions).toEqual([{ Ref: topicId }]);
    }
    nonprod.template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
  });

  it('use the configured alarm topic instead when one is given', () => {
    const topic = 'arn:aws:sns:eu-west-1:111122223333:platform-alarms';
    const s = synthesize(configWith('prod', (c) => (c.alarmTopicArn = topic)));
    expect(resourcesOfType(s.template, 'AWS::SNS::Topic')).toEqual({});
    for (const alarm of alarmsOf(s)) expect(alarm.AlarmActions).toEqual([topic]);
  });
});

describe('token warmer schedule without tenants', () => {
  it('is not created, since there is nothing to warm', () => {
    expect(resourcesOfType(prod.template, 'AWS::Events::Rule')).toEqual({});
  });
});

describe('API gateway responses', () => {
  it('answer a body that fails the schema with the house error shape as valid JSON', () => {
    const responses = Object.values(resourcesOfType(nonprod.template, 'AWS::ApiGateway::GatewayResponse'));
    const badBody = responses.find((r) => r.Properties?.ResponseType === 'BAD_REQUEST_BODY')!.Properties!;
    const body = JSON.parse((badBody.ResponseTemplates as Record<string, string>)['application/json']!);
    expect(body).toMatchObject({
      error: 'invalid_input',
      message: expect.stringContaining('API.md'),
      details: {},
    });
    expect(badBody).toMatchObject({
      StatusCode: '400',
      ResponseParameters: { 'gatewayresponse.header.Cache-Control': "'no-store'" },
    });
  });
});

describe('prod readiness warnings', () => {
  const customDomain = {
    domainName: 'epic.example.org',
    certificateArn: 'arn:aws:acm:eu-west-1:111122223333:certificate/12345678-1234-1234-1234-123456789012',
    hostedZoneId: 'Z0123456789ABCDEFGHIJ',
    hostedZoneName: 'example.org',
  };
  const alarmTopicArn = 'arn:aws:sns:eu-west-1:111122223333:platform-alarms';

  it('warn at synth, without failing it, when prod has no custom domain and no alarm topic', () => {
    // Arrange / Act: beforeAll synthesized the shipped prod config (neither is set).
    const annotations = Annotations.fromStack(prod.stack);
    // Assert
    annotations.hasWarning(
      '/EpicIntegration-prod',
      Match.stringLikeRegexp('prod has no customDomain: .*execute-api.*Do not register it with Epic'),
    );
    annotations.hasWarning('/EpicIntegration-prod', Match.stringLikeRegexp('prod has no alarmTopicArn'));
    expect(annotations.findError('*', Match.anyValue())).toEqual([]);
  });

  it('warn only about what is missing', () => {
    // Arrange
    const withDomain = synthesize(configWith('prod', (c) => (c.customDomain = customDomain)));
    // Act
    const annotations = Annotations.fromStack(withDomain.stack);
    // Assert
    annotations.hasNoWarning('*', Match.stringLikeRegexp('customDomain'));
    annotations.hasWarning('/EpicIntegration-prod', Match.stringLikeRegexp('prod has no alarmTopicArn'));
  });

  it('do not warn when prod has both, nor for nonprod', () => {
    // Arrange
    const complete = synthesize(
      configWith('prod', (c) => {
        c.customDomain = customDomain;
        c.alarmTopicArn = alarmTopicArn;
      }),
    );
    // Act / Assert
    for (const s of [complete, nonprod]) {
      expect(
        Annotations.fromStack(s.stack).findWarning('*', Match.stringLikeRegexp('customDomain|alarmTopicArn')),
      ).toEqual([]);
    }
  });
});
