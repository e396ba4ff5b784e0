import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp, PROJECT_ROOT } from '../../infra/build-app.js';
import { ENVIRONMENTS } from '../../infra/config/index.js';
import type { EnvironmentConfig, EnvironmentName } from '../../infra/config/types.js';
import type { EpicIntegrationStack } from '../../infra/stack.js';
import { FUNCTION_ENTRIES } from '../../infra/stack.js';

/** The context of cdk.json, so tests synthesize with the same feature flags as `cdk synth`. */
export const CDK_JSON_CONTEXT = (
  JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }
).context;

export interface Synthesized {
  app: App;
  stack: EpicIntegrationStack;
  template: Template;
}

/**
 * Builds one environment the way `cdk synth -c env=<env>` does (same app builder, same cdk.json
 * context, cdk-nag packs included: an unsuppressed finding fails here too), with esbuild bundling
 * skipped (`aws:cdk:bundling-stacks: []`). CDK's built-in CloudFormation schema check is left to
 * `npm run synth` and the bundling test: it costs ~15 s per process.
 */
export function synthesize(config: unknown): Synthesized {
  const app = new App({
    context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [] },
    builtinCloudFormationValidation: false,
  });
  const stack = buildApp(app, config);
  return { app, stack, template: Template.fromStack(stack) };
}

/** A deep copy of a shipped environment config with `patch` applied (for variants and bad configs). */
export function configWith(
  env: EnvironmentName,
  patch: (config: Record<string, unknown>) => void = () => {},
): EnvironmentConfig {
  const copy = structuredClone(ENVIRONMENTS[env]) as unknown as Record<string, unknown>;
  patch(copy);
  return copy as unknown as EnvironmentConfig;
}

/** The handler entry files the stack points at that do not exist (yet). */
export function missingEntries(): string[] {
  return Object.values(FUNCTION_ENTRIES)
    .map((entry) => join('functions', entry))
    .filter((entry) => !existsSync(join(PROJECT_ROOT, entry)));
}

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

export function resourcesOfType(template: Template, type: string): Resources {
  return template.findResources(type) as Resources;
}

export interface Grant {
  /** Logical ids of the roles the policy is attached to. */
  roles: string[];
  actions: string[];
  resources: unknown[];
  conditions?: unknown;
}

const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Every Allow statement of every identity policy (AWS::IAM::Policy and inline role policies). */
export function identityGrants(template: Template): Grant[] {
  const grants: Grant[] = [];
  type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown };
  const add = (roles: string[], statements: Statement[]) => {
    for (const s of statements) {
      if (s.Effect !== 'Allow') continue;
      grants.push({
        roles,
        actions: asArray(s.Action),
        resources: asArray(s.Resource),
        conditions: s.Condition,
      });
    }
  };
  for (const policy of Object.values(resourcesOfType(template, 'AWS::IAM::Policy'))) {
    const props = policy.Properties as {
      Roles: { Ref: string }[];
      PolicyDocument: { Statement: Statement[] };
    };
    add(
      props.Roles.map((r) => r.Ref),
      props.PolicyDocument.Statement,
    );
  }
  for (const [id, role] of Object.entries(resourcesOfType(template, 'AWS::IAM::Role'))) {
    const inline = (role.Properties?.Policies ?? []) as { PolicyDocument: { Statement: Statement[] } }[];
    for (const p of inline) add([id], p.PolicyDocument.Statement);
  }
  return grants;
}

/** Logical ids of the roles granted `action` (on any resource). */
export function rolesGranted(template: Template, action: string): string[] {
  return [
    ...new Set(identityGrants(template).flatMap((g) => (g.actions.includes(action) ? g.roles : []))),
  ].sort();
}

/** The resources `action` is granted on, over all roles. */
export function resourcesGranted(template: Template, action: string): unknown[] {
  return identityGrants(template).flatMap((g) => (g.actions.includes(action) ? g.resources : []));
}
