import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type CfnResource, Stack } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../functions/core/errors/app-error.js';
import { PROJECT_ROOT } from '../../infra/build-app.js';
import { HouseFunction, shellQuote } from '../../infra/constructs/house-function.js';
import { CDK_JSON_CONTEXT } from './synth.js';

/**
 * `bundledFiles`: files shipped next to the handler (the stack ships the tenants this way). Real
 * esbuild bundling of a one-line handler, so the copy hook and the asset hash are the real ones.
 */
const ENTRY = join(PROJECT_ROOT, 'test', 'infra', 'fixtures', 'hello-handler.ts');
const dirs: string[] = [];
const tempDir = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
};

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function houseFunction(
  bundledFiles: Record<string, string>,
  options: { bundle: boolean } = { bundle: true },
): { fn: HouseFunction; assetDir: string } {
  const outdir = tempDir('house-function-cdk-out-');
  const app = new App({
    outdir,
    context: {
      ...CDK_JSON_CONTEXT,
      'aws:cdk:enable-asset-metadata': true,
      ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
    },
  });
  const stack = new Stack(app, 'HouseFunctionTest');
  const fn = new HouseFunction(stack, 'Hello', {
    entry: ENTRY,
    description: 'bundledFiles test',
    environment: {},
    projectRoot: PROJECT_ROOT,
    logRetention: logs.RetentionDays.ONE_DAY,
    logsKey: new kms.Key(stack, 'LogsKey'),
    bundledFiles,
  });
  const cfn = fn.function.node.defaultChild as CfnResource;
  const assetPath = cfn.getMetadata('aws:asset:path') as string;
  return { fn, assetDir: join(outdir, assetPath) };
}

/** A source file in a directory whose name needs shell quoting (space, single quote, `$`). */
function sourceFile(content: string): string {
  const dir = join(tempDir('house-function-src-'), "it's a $HOME dir");
  mkdirSync(dir);
  const path = join(dir, 'tenants.json');
  writeFileSync(path, content);
  return path;
}

describe('a HouseFunction with bundled files', () => {
  it('copies each file into the bundle under its name, whatever characters the source path holds', () => {
    // Arrange
    const source = sourceFile('{"tenants": []}\n');
    // Act
    const { assetDir } = houseFunction({ 'tenants.json': source });
    // Assert
    expect(readFileSync(join(assetDir, 'tenants.json'), 'utf8')).toBe('{"tenants": []}\n');
    expect(readFileSync(join(assetDir, 'index.mjs'), 'utf8')).toContain('ok:!0');
  }, 60_000);

  it('changes the asset hash when a bundled file changes, and only then', () => {
    // Arrange: the asset hash is over the bundle output (AssetHashType.OUTPUT), after the copy.
    const one = houseFunction({ 'tenants.json': sourceFile('{"tenants": [1]}') });
    const sameAgain = houseFunction({ 'tenants.json': sourceFile('{"tenants": [1]}') });
    const changed = houseFunction({ 'tenants.json': sourceFile('{"tenants": [1, 2]}') });
    // Act
    const hash = (h: { assetDir: string }) => h.assetDir.split('asset.')[1];
    // Assert: a tenants change is a new asset (a code update on deploy); no change, no update.
    expect(hash(one)).toMatch(/^[0-9a-f]{64}$/);
    expect(hash(sameAgain)).toBe(hash(one));
    expect(hash(changed)).not.toBe(hash(one));
  }, 60_000);

  it('refuses a name that is not a plain file name, or a source that is not an existing absolute path', () => {
    const source = sourceFile('{}');
    for (const name of ['../escape.json', 'sub/dir.json', 'index.mjs', 'index.mjs.map', '..', '']) {
      expect(() => houseFunction({ [name]: source }, { bundle: false }), name).toThrow(ConfigError);
    }
    expect(() => houseFunction({ 'tenants.json': 'relative/tenants.json' }, { bundle: false })).toThrow(
      /bundledFiles\.tenants\.json: "relative\/tenants\.json" must be an existing absolute path/,
    );
    expect(() =>
      houseFunction({ 'tenants.json': join(tmpdir(), 'no-such-file.json') }, { bundle: false }),
    ).toThrow(ConfigError);
  });
});

describe('shellQuote', () => {
  it('makes one shell word of any string', () => {
    expect(shellQuote('/a b/c')).toBe("'/a b/c'");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
    expect(shellQuote('$(rm -rf ~)')).toBe("'$(rm -rf ~)'");
  });
});
