import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../functions/core/errors/app-error.js';
import { NONPROD_CLIENT_ID } from '../../../local/runtime/app.js';
import { readLocalRuntimeSettings } from '../../../local/runtime/settings.js';

function problems(env: Record<string, string>): string[] {
  try {
    readLocalRuntimeSettings(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return [...(error as ConfigError).problems];
  }
  throw new Error('expected a ConfigError');
}

describe('readLocalRuntimeSettings', () => {
  it('gives the defaults of API.md for an empty environment', () => {
    expect(readLocalRuntimeSettings({})).toEqual({
      port: 3000,
      clientId: NONPROD_CLIENT_ID,
      keySource: 'local',
      tokenStore: 'file',
      warmerIntervalMs: 300_000,
    });
  });

  it('reads every setting, resolving paths and splitting the KMS key list', () => {
    const settings = readLocalRuntimeSettings({
      PORT: '4000',
      EPIC_CLIENT_ID: 'client-1234',
      KEY_SOURCE: 'kms',
      KMS_KEY_IDS: ' key-a , key-b ,',
      TOKEN_STORE: 'secretsmanager',
      TOKEN_SECRET_PREFIX: 'epic/dev/',
      TENANTS_FILE: 'tenants.json',
      STATE_DIR: 'state',
      WARMER_INTERVAL_SECONDS: '0',
    });

    expect(settings).toEqual({
      port: 4000,
      clientId: 'client-1234',
      keySource: 'kms',
      kmsKeyIds: ['key-a', 'key-b'],
      tokenStore: 'secretsmanager',
      tokenSecretPrefix: 'epic/dev/',
      tenantsFile: resolve('tenants.json'),
      stateDir: resolve('state'),
      warmerIntervalMs: 0,
    });
  });

  it('requires KMS_KEY_IDS when KEY_SOURCE=kms', () => {
    expect(problems({ KEY_SOURCE: 'kms' })).toEqual(['KMS_KEY_IDS: required when KEY_SOURCE=kms']);
  });

  it('reports every bad value at once', () => {
    expect(
      problems({ PORT: '0', KEY_SOURCE: 'hsm', TOKEN_STORE: 'redis', WARMER_INTERVAL_SECONDS: 'soon' }).map(
        (p) => p.split(':')[0],
      ),
    ).toEqual(['PORT', 'KEY_SOURCE', 'TOKEN_STORE', 'WARMER_INTERVAL_SECONDS']);
  });
});
