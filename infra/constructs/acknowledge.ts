import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * Acknowledges (suppresses) one cdk-nag finding on one construct, with the reason a reviewer reads.
 * Always call it on the resource (or its owning construct), never on a stack or the app.
 */
export function acknowledge(scope: IConstruct, ruleIds: string | readonly string[], reason: string): void {
  for (const id of typeof ruleIds === 'string' ? [ruleIds] : ruleIds) {
    Validations.of(scope).acknowledge({ id, reason });
  }
}
