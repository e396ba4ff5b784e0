import { Stack, Validations } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks, HIPAASecurityChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { ENVIRONMENTS } from '../../infra/config/index.js';
import { configWith, synthesize } from './synth.js';

const ACK_KEY = Validations.ACKNOWLEDGED_RULES_METADATA_KEY;

/** Every unsuppressed AwsSolutions and HIPAA.Security finding under `scope`, as readable lines. */
function findings(scope: IConstruct): string[] {
  return [new AwsSolutionsChecks(), new HIPAASecurityChecks()].flatMap((pack) =>
    pack
      .validateScope(scope)
      .violations.flatMap((v) =>
        v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}: ${v.description}`),
      ),
  );
}

function acknowledgements(
  scope: IConstruct,
): { path: string; id: string; reason: string; isStack: boolean }[] {
  return scope.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === ACK_KEY)
      .flatMap((m) =>
        Object.entries(m.data as Record<string, unknown>).map(([id, reason]) => ({
          path: c.node.path,
          id,
          reason: typeof reason === 'string' ? reason : JSON.stringify(reason),
          isStack: Stack.isStack(c) || c.node.scope === undefined,
        })),
      ),
  );
}

const variants = {
  nonprod: () => ENVIRONMENTS.nonprod,
  prod: () => ENVIRONMENTS.prod,
  'prod with custom domain and alarm topic': () =>
    configWith('prod', (c) => {
      c.customDomain = {
        domainName: 'epic.example.org',
        certificateArn: 'arn:aws:acm:eu-west-1:111122223333:certificate/12345678-1234-1234-1234-123456789012',
        hostedZoneId: 'Z0123456789ABCDEFGHIJ',
        hostedZoneName: 'example.org',
      };
      c.alarmTopicArn = 'arn:aws:sns:eu-west-1:111122223333:platform-alarms';
    }),
};

describe('cdk-nag AwsSolutions and HIPAA.Security', () => {
  for (const [name, config] of Object.entries(variants)) {
    it(`report no unsuppressed finding for ${name}`, () => {
      // Arrange
      const { app } = synthesize(config());
      // Act
      const found = findings(app);
      // Assert
      expect(found).toEqual([]);
    });
  }

  it('acknowledge findings only on resources, each with a real reason', () => {
    const { app } = synthesize(ENVIRONMENTS.nonprod);
    const acks = acknowledgements(app);
    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) {
      expect(ack.isStack, `${ack.id} acknowledged on a stack or the app (${ack.path})`).toBe(false);
      expect(ack.reason.length, `${ack.id} at ${ack.path} needs a reason`).toBeGreaterThanOrEqual(60);
    }
  });

  it('would report a finding nobody acknowledged, and then fail synth', () => {
    // Arrange: an unencrypted queue without SSL enforcement in the real stack.
    const { stack, app } = synthesize(ENVIRONMENTS.nonprod);
    new sqs.Queue(stack, 'Unreviewed', { encryption: sqs.QueueEncryption.UNENCRYPTED });
    // Act
    const found = findings(app);
    // Assert
    expect(found.some((f) => f.startsWith('AwsSolutions-SQS3 at EpicIntegration-nonprod/Unreviewed'))).toBe(
      true,
    );
    expect(() => app.synth({ force: true })).toThrow(/AwsSolutions-SQS/);
  });
});
