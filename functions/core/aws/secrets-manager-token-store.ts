import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { TENANT_ID_PATTERN } from '../config/tenants.js';
import { DependencyError, InvalidInputError } from '../errors/app-error.js';
import type { AppLogger } from '../observability/powertools.js';
import { parseCachedToken } from '../tokens/cached-token.js';
import type { CachedToken, TokenStore } from '../tokens/types.js';

/** What the stack writes into a tenant's secret before the first mint (infra/constructs/token-cache.ts). */
const PLACEHOLDERS = new Set(['', '{}']);

const errorName = (e: unknown): string => (e instanceof Error && e.name ? e.name : 'UnknownError');

/**
 * The token cache in AWS: one Secrets Manager secret per tenant, named `<secretPrefix><tenant>`,
 * holding the CachedToken JSON. Written only by the minter (about once per token lifetime); a
 * missing secret or the placeholder value reads as "no token"; a corrupt or foreign value is logged
 * (tenant and problem only) and also reads as "no token". Errors name the Secrets Manager error,
 * never the value.
 */
export class SecretsManagerTokenStore implements TokenStore {
  private readonly client: SecretsManagerClient;
  private readonly secretPrefix: string;
  private readonly logger: AppLogger;
  private readonly createMissing: boolean;

  constructor(opts: {
    client: SecretsManagerClient;
    secretPrefix: string;
    logger: AppLogger;
    /** Create the secret on first write (the local runtime); in AWS the stack creates it. */
    createMissing?: boolean;
  }) {
    this.client = opts.client;
    this.secretPrefix = opts.secretPrefix;
    this.logger = opts.logger;
    this.createMissing = opts.createMissing ?? false;
  }

  secretIdFor(tenant: string): string {
    if (!TENANT_ID_PATTERN.test(tenant))
      throw new InvalidInputError('tenant', `Tenant id must match ${TENANT_ID_PATTERN}.`);
    return `${this.secretPrefix}${tenant}`;
  }

  async read(tenant: string): Promise<CachedToken | undefined> {
    const secretId = this.secretIdFor(tenant);
    let text: string | undefined;
    try {
      const output = await this.client.send(new GetSecretValueCommand({ SecretId: secretId }));
      text = output.SecretString;
    } catch (cause) {
      if (errorName(cause) === 'ResourceNotFoundException') return undefined;
      throw this.failure('GetSecretValue', tenant, secretId, cause);
    }
    if (text === undefined || PLACEHOLDERS.has(text.trim())) return undefined;
    const parsed = parseCachedToken(text, tenant);
    if ('problem' in parsed) {
      this.logger.warn('TOKEN_CACHE_UNREADABLE', {
        tenant,
        problem: parsed.problem,
        store: 'secretsmanager',
      });
      return undefined;
    }
    return parsed;
  }

  async write(token: CachedToken): Promise<void> {
    const secretId = this.secretIdFor(token.tenant);
    const secretString = JSON.stringify(token);
    try {
      await this.client.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: secretString }));
      return;
    } catch (cause) {
      if (!(this.createMissing && errorName(cause) === 'ResourceNotFoundException'))
        throw this.failure('PutSecretValue', token.tenant, secretId, cause);
    }
    try {
      await this.client.send(new CreateSecretCommand({ Name: secretId, SecretString: secretString }));
    } catch (cause) {
      if (errorName(cause) !== 'ResourceExistsException')
        throw this.failure('CreateSecret', token.tenant, secretId, cause);
      // Someone created it a moment ago: store our value in it.
      try {
        await this.client.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: secretString }));
      } catch (retryCause) {
        throw this.failure('PutSecretValue', token.tenant, secretId, retryCause);
      }
    }
  }

  private failure(operation: string, tenant: string, secretId: string, cause: unknown): DependencyError {
    const name = errorName(cause);
    return new DependencyError(
      'token_store_unavailable',
      `Secrets Manager ${operation} on secret "${secretId}" for tenant "${tenant}" failed: ${name}.`,
      { cause, details: { tenant, secretsManagerError: name, operation } },
    );
  }
}
