import type { TenantsFile } from '../../functions/core/config/tenants.js';
import type { KeyState, SigningAlg } from '../../functions/core/keys/types.js';

/** The environments this app deploys; one stack each. */
export const ENVIRONMENT_NAMES = ['nonprod', 'prod'] as const;
export type EnvironmentName = (typeof ENVIRONMENT_NAMES)[number];

export const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** RSA sizes for RS384 keys (Epic needs >= 2048 bits). ES384 keys are always ECC_NIST_P384. */
export const RSA_KEY_SPECS = ['RSA_2048', 'RSA_3072', 'RSA_4096'] as const;
export type RsaKeySpec = (typeof RSA_KEY_SPECS)[number];

/**
 * One signing key. `name` is the key's stable identity in the stack: it names the construct (so
 * the CloudFormation logical id never changes when the state does) and the alias
 * `alias/epic-integration/<env>/<name>`. Changing `state` never replaces a key.
 */
export interface SigningKeyConfig {
  /** `^[a-z0-9][a-z0-9-]{0,39}$`, e.g. `signing-2026-12`. Never rename a deployed key. */
  name: string;
  alg: SigningAlg;
  state: KeyState;
  /** RS384 only; default `RSA_2048`. */
  keySpec?: RsaKeySpec;
  /**
   * Reference a key that already exists (created by an earlier stack, another account process, or
   * by hand) instead of creating one. The stack then never creates, changes or deletes it.
   */
  existingKeyArn?: string;
}

/** Optional custom domain: JWK Set URL becomes `https://<domainName>/epic/oauth`. */
export interface CustomDomainConfig {
  /** Host name only, e.g. `epic.example.org`. */
  domainName: string;
  /** ACM certificate in the stack's region covering `domainName`. */
  certificateArn: string;
  /** Route 53 public hosted zone that holds `domainName` (no lookup at synth). */
  hostedZoneId: string;
  hostedZoneName: string;
}

/** Per-environment configuration as typed data (`nonprod.ts`, `prod.ts`). Checked at synth. */
export interface EnvironmentConfig {
  envName: EnvironmentName;
  /** This environment's Epic client id (EPIC.md, "App registration"). */
  epicClientId: string;
  /** The tenants file (format of API.md, "Tenants file"); `{"tenants": []}` is allowed. */
  tenants: unknown;
  signingKeys: SigningKeyConfig[];
  /** `Cache-Control: public, max-age=N` on the JWK Set; 60..86400 (Epic caches at most 29 h). */
  jwksMaxAgeSeconds: number;
  /** How often the token warmer runs; 1..30 minutes (well inside Epic's usual 60 min tokens). */
  warmerIntervalMinutes: number;
  /** Minimum seconds between two forced refreshes of one tenant (429 below it). */
  forceRefreshMinIntervalSeconds: number;
  /** CloudWatch Logs retention in days for every log group (a value CloudWatch accepts). */
  logRetentionDays: number;
  logLevel: LogLevel;
  /** Stage-wide API Gateway throttling. */
  apiThrottle: { rateLimit: number; burstLimit: number };
  customDomain?: CustomDomainConfig;
  /** SNS topic ARN that receives alarm and OK notifications. */
  alarmTopicArn?: string;
}

/** A validated config: the tenants file parsed with the shared validator. */
export interface ValidatedEnvironmentConfig extends Omit<EnvironmentConfig, 'tenants'> {
  tenants: TenantsFile;
}
