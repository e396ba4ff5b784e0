import { RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import type { KeyConfig } from '../../functions/core/keys/types.js';
import type { SigningKeyConfig } from '../config/types.js';

export interface SigningKey {
  config: SigningKeyConfig;
  key: kms.IKey;
  /** The alias the stack created (undefined for a referenced existing key). */
  alias?: kms.Alias;
}

export interface SigningKeysProps {
  envName: string;
  keys: readonly SigningKeyConfig[];
}

function keySpec(config: SigningKeyConfig): kms.KeySpec {
  if (config.alg === 'ES384') return kms.KeySpec.ECC_NIST_P384;
  return kms.KeySpec[config.keySpec ?? 'RSA_2048'];
}

/**
 * The asymmetric `SIGN_VERIFY` KMS keys that sign client assertions. Each key's construct id is its
 * configured `name`, so its logical id never changes with its state; keys are retained when the
 * stack is deleted (a deleted key can never sign again, and Epic may still hold its public half).
 * A key with `existingKeyArn` is only referenced.
 */
export class SigningKeys extends Construct {
  readonly keys: SigningKey[];

  constructor(scope: Construct, id: string, props: SigningKeysProps) {
    super(scope, id);
    this.keys = props.keys.map((config) => {
      if (config.existingKeyArn) {
        return { config, key: kms.Key.fromKeyArn(this, config.name, config.existingKeyArn) };
      }
      const key = new kms.Key(this, config.name, {
        description: `Epic client assertion signing key ${config.name} (${config.alg}, ${props.envName})`,
        keySpec: keySpec(config),
        keyUsage: kms.KeyUsage.SIGN_VERIFY,
        removalPolicy: RemovalPolicy.RETAIN,
      });
      const alias = new kms.Alias(this, `${config.name}-alias`, {
        aliasName: `alias/epic-integration/${props.envName}/${config.name}`,
        targetKey: key,
        removalPolicy: RemovalPolicy.RETAIN,
      });
      return { config, key, alias };
    });
  }

  /** The `SIGNING_KEYS_JSON` list: every configured key by ARN, with its alg and state. */
  keyConfigs(options: { includeRetired: boolean }): KeyConfig[] {
    return this.keys
      .filter((k) => options.includeRetired || k.config.state !== 'retired')
      .map((k) => ({ keyId: k.key.keyArn, alg: k.config.alg, state: k.config.state }));
  }

  /** `kms:GetPublicKey` on every published (`next` or `active`) key. */
  grantGetPublicKey(grantee: iam.IGrantable): void {
    for (const k of this.keys) if (k.config.state !== 'retired') k.key.grant(grantee, 'kms:GetPublicKey');
  }

  /**
   * `kms:Sign` on the published keys (`active`, and `next`). The minter signs only with the `active`
   * key; the grant also covers `next` so that, while a promotion (or its rollback) deploys, containers
   * still running with the previous key list can finish signing. Retired keys can never sign.
   */
  grantSign(grantee: iam.IGrantable): void {
    for (const k of this.keys) if (k.config.state !== 'retired') k.key.grant(grantee, 'kms:Sign');
  }

  /**
   * Key policy of every key this stack creates: `kms:Sign` is denied to every principal but
   * `signer`, so broad IAM rights in the account (the default key policy trusts the account root)
   * cannot sign a client assertion. Only Sign is denied: key administration by the account root is
   * unchanged. The key policy references the role; the role's grants are a separate IAM policy that
   * references the key, so there is no dependency cycle. A referenced key (`existingKeyArn`) cannot
   * be changed here: its owner adds the same statement (docs/DEPLOY.md).
   */
  restrictSignTo(signer: iam.IRole): void {
    for (const k of this.keys) {
      if (!(k.key instanceof kms.Key)) continue; // a referenced key: see above
      k.key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'DenySignToAllButTokenMinter',
          effect: iam.Effect.DENY,
          principals: [new iam.AnyPrincipal()],
          actions: ['kms:Sign'],
          resources: ['*'],
          conditions: { StringNotEquals: { 'aws:PrincipalArn': signer.roleArn } },
        }),
      );
    }
  }
}
