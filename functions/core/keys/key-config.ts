import { ConfigError } from '../errors/app-error.js';
import { isJsonObject } from '../values.js';
import type { KeyConfig, KeyState, SigningAlg } from './types.js';

const ALGS: readonly SigningAlg[] = ['RS384', 'ES384'];
const STATES: readonly KeyState[] = ['next', 'active', 'retired'];
const FIELDS = ['keyId', 'alg', 'state'] as const;
const MAX_KEY_ID_LENGTH = 2048;

/**
 * Validates the configured signing-key list shared by the KMS and the local implementations: a JSON
 * array of `{keyId, alg, state}` with exactly one `active` key, at most one `next` key and unique
 * key ids. Every problem is reported at once, each with its field path (e.g. `keys[1].state`).
 */
export function parseKeyConfigs(value: unknown, source: string): KeyConfig[] {
  const problems: string[] = [];
  if (!Array.isArray(value)) {
    throw new ConfigError(source, ['keys: must be a JSON array of {keyId, alg, state}']);
  }
  if (value.length === 0) problems.push('keys: must list at least one key (exactly one "active")');

  const keys: KeyConfig[] = [];
  const seen = new Map<string, number>();
  value.forEach((entry, i) => {
    const path = `keys[${i}]`;
    if (!isJsonObject(entry)) {
      problems.push(`${path}: must be an object {keyId, alg, state}`);
      return;
    }
    for (const field of Object.keys(entry)) {
      if (!(FIELDS as readonly string[]).includes(field))
        problems.push(`${path}.${field}: unknown field (allowed: ${FIELDS.join(', ')})`);
    }
    const { keyId, alg, state } = entry;
    let ok = true;
    if (typeof keyId !== 'string' || keyId.trim().length === 0 || keyId.length > MAX_KEY_ID_LENGTH) {
      problems.push(`${path}.keyId: must be a non-empty string of at most ${MAX_KEY_ID_LENGTH} characters`);
      ok = false;
    } else {
      const first = seen.get(keyId);
      if (first !== undefined) {
        problems.push(`${path}.keyId: "${keyId}" is already used by keys[${first}]; key ids must be unique`);
        ok = false;
      } else seen.set(keyId, i);
    }
    if (typeof alg !== 'string' || !(ALGS as readonly string[]).includes(alg)) {
      problems.push(`${path}.alg: must be one of ${ALGS.join(', ')} (got ${JSON.stringify(alg)})`);
      ok = false;
    }
    if (typeof state !== 'string' || !(STATES as readonly string[]).includes(state)) {
      problems.push(`${path}.state: must be one of ${STATES.join(', ')} (got ${JSON.stringify(state)})`);
      ok = false;
    }
    if (ok) keys.push({ keyId: keyId as string, alg: alg as SigningAlg, state: state as KeyState });
  });

  const statePaths = (s: KeyState) =>
    value.flatMap((e, i) => (isJsonObject(e) && e.state === s ? [`keys[${i}]`] : []));
  const active = statePaths('active');
  const next = statePaths('next');
  if (Array.isArray(value) && value.length > 0 && active.length === 0)
    problems.push('keys: exactly one key must have state "active" (none has)');
  if (active.length > 1)
    problems.push(
      `keys: exactly one key must have state "active" (${active.join(', ')} have it); ` +
        'mark the older one "retired" or "next"',
    );
  if (next.length > 1)
    problems.push(`keys: at most one key may have state "next" (${next.join(', ')} have it)`);

  if (problems.length > 0) throw new ConfigError(source, problems);
  return keys;
}
