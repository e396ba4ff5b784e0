import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../functions/core/errors/app-error.js';
import { parseKeyConfigs } from '../../../functions/core/keys/key-config.js';

function problemsOf(value: unknown): readonly string[] {
  try {
    parseKeyConfigs(value, 'KMS_KEYS');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('parseKeyConfigs', () => {
  it('returns a valid rotation list unchanged', () => {
    // Arrange
    const value = [
      { keyId: 'alias/old', alg: 'RS384', state: 'retired' },
      { keyId: 'alias/current', alg: 'RS384', state: 'active' },
      { keyId: 'alias/new', alg: 'ES384', state: 'next' },
    ];

    // Act
    const keys = parseKeyConfigs(value, 'KMS_KEYS');

    // Assert
    expect(keys).toEqual(value);
  });

  it('reports every problem at once with its field path', () => {
    // Arrange
    const value = [
      { keyId: 'a', alg: 'PS384', state: 'active' },
      { keyId: 'b', alg: 'RS384', state: 'current', extra: true },
      { keyId: 'a', alg: 'ES384', state: 'active' },
      'not an object',
      { alg: 'RS384', state: 'next' },
    ];

    // Act
    const problems = problemsOf(value);

    // Assert
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^keys\[0\]\.alg: must be one of RS384, ES384 \(got "PS384"\)/),
        expect.stringMatching(/^keys\[1\]\.extra: unknown field/),
        expect.stringMatching(/^keys\[1\]\.state: must be one of next, active, retired/),
        expect.stringMatching(/^keys\[2\]\.keyId: "a" is already used by keys\[0\]/),
        expect.stringMatching(/^keys\[3\]: must be an object/),
        expect.stringMatching(/^keys\[4\]\.keyId: must be a non-empty string/),
        expect.stringMatching(/exactly one key must have state "active" \(keys\[0\], keys\[2\] have it\)/),
      ]),
    );
    expect(problems).toHaveLength(7);
  });

  it('rejects a list with no active key', () => {
    expect(problemsOf([{ keyId: 'a', alg: 'RS384', state: 'next' }])).toEqual([
      'keys: exactly one key must have state "active" (none has)',
    ]);
  });

  it('rejects two next keys', () => {
    expect(
      problemsOf([
        { keyId: 'a', alg: 'RS384', state: 'active' },
        { keyId: 'b', alg: 'RS384', state: 'next' },
        { keyId: 'c', alg: 'RS384', state: 'next' },
      ]),
    ).toEqual(['keys: at most one key may have state "next" (keys[1], keys[2] have it)']);
  });

  it.each([
    ['an object', { keyId: 'a' }],
    ['a string', 'alias/a'],
  ])('rejects %s instead of an array', (_name, value) => {
    expect(problemsOf(value)).toEqual(['keys: must be a JSON array of {keyId, alg, state}']);
  });

  it('rejects an empty list', () => {
    expect(problemsOf([])).toEqual(['keys: must list at least one key (exactly one "active")']);
  });

  it('names the source in the error message', () => {
    expect(() => parseKeyConfigs([], 'SIGNING_KEYS')).toThrow(/^SIGNING_KEYS is invalid/);
  });
});
