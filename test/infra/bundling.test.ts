import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTenantsJson } from '../../functions/core/config/tenants.js';
import { buildApp } from '../../infra/build-app.js';
import { ENVIRONMENTS } from '../../infra/config/index.js';
import type { EpicIntegrationStack, FunctionName } from '../../infra/stack.js';
import { CDK_JSON_CONTEXT, missingEntries } from './synth.js';

/**
 * The one synth with real esbuild bundling of the real handlers (the unit tests skip bundling).
 * It is skipped only when a handler entry file does not exist yet, and says which.
 */
const missing = missingEntries();
const title = missing.length
  ? `real esbuild bundling (SKIPPED: handler entry missing: ${missing.join(', ')})`
  : 'real esbuild bundling';

describe.skipIf(missing.length > 0)(title, () => {
  let outdir: string;
  let stack: EpicIntegrationStack;
  let bundles: { logicalId: string; dir: string; code: string }[];

  beforeAll(() => {
    outdir = mkdtempSync(join(tmpdir(), 'epic-infra-bundle-'));
    const app = new App({
      outdir,
      context: { ...CDK_JSON_CONTEXT, 'aws:cdk:enable-asset-metadata': true },
      // The CloudFormation schema check runs in `npm run synth`; here the subject is the bundle.
      builtinCloudFormationValidation: false,
    });
    stack = buildApp(app, ENVIRONMENTS.nonprod);
    const template = Template.fromStack(stack);
    bundles = Object.entries(template.findResources('AWS::Lambda::Function')).map(([logicalId, fn]) => {
      const dir = join(outdir, (fn.Metadata as Record<string, string>)['aws:asset:path']!);
      return { logicalId, dir, code: readFileSync(join(dir, 'index.mjs'), 'utf8') };
    });
  }, 180_000);

  afterAll(() => {
    if (outdir) rmSync(outdir, { recursive: true, force: true });
  });

  it('bundles every function as minified ESM with a linked source map', () => {
    expect(bundles).toHaveLength(6);
    for (const b of bundles) {
      expect(existsSync(join(b.dir, 'index.mjs.map')), b.logicalId).toBe(true);
      expect(b.code).toMatch(/\/\/# sourceMappingURL=index\.mjs\.map\s*$/);
      expect(b.code.startsWith('import { createRequire as __createRequire }'), b.logicalId).toBe(true);
      // minified: whitespace-free statements, so lines are long (template literals keep their newlines)
      expect(b.code.length / b.code.split('\n').length, b.logicalId).toBeGreaterThan(200);
    }
  });

  it('bundles the AWS SDK instead of importing the runtime copy', () => {
    for (const b of bundles) {
      expect(b.code, b.logicalId).not.toMatch(/from\s*["']@aws-sdk\//);
      // (the SDK's own error messages quote `[require("@aws-sdk/...")]`; those are strings, not calls)
      expect(b.code, b.logicalId).not.toMatch(/(?<![[])require\(["']@aws-sdk\//);
    }
    expect(
      bundles.some((b) => b.code.includes('TrentService')),
      'a bundle carries the KMS client (its service id is TrentService)',
    ).toBe(true);
  });

  it('ships the tenants file in the bundle of every function that reads tenants, and only there', () => {
    const bundleOf = (name: FunctionName) => {
      const logicalId = stack.getLogicalId(stack.functions[name].function.node.defaultChild as CfnElement);
      return bundles.find((b) => b.logicalId === logicalId)!;
    };
    const written = readFileSync(stack.tenantsFilePath, 'utf8');
    for (const name of ['tokenMinter', 'refresh', 'findSlots', 'preflight'] as const) {
      const shipped = join(bundleOf(name).dir, 'tenants.json');
      expect(existsSync(shipped), name).toBe(true);
      expect(readFileSync(shipped, 'utf8'), name).toBe(written);
      expect(parseTenantsJson(readFileSync(shipped, 'utf8')).tenants.map((t) => t.id)).toEqual(['sandbox']);
    }
    for (const name of ['jwks', 'integrationPage'] as const) {
      expect(existsSync(join(bundleOf(name).dir, 'tenants.json')), name).toBe(false);
    }
  });
});
