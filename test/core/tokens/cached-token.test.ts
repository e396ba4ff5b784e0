import { describe, expect, it } from 'vitest';
import { parseCachedToken } from '../../../functions/core/tokens/cached-token.js';
import { storedToken } from './token-fixtures.js';

const problemOf = (text: string, tenant = 'mercy-health'): string => {
  const result = parseCachedToken(text, tenant);
  if (!('problem' in result)) throw new Error('expected a problem');
  return result.problem;
};

describe('parseCachedToken', () => {
  it('returns a valid record as a CachedToken', () => {
    // Arrange
    const token = storedToken();

    // Act
    const result = parseCachedToken(JSON.stringify(token), 'mercy-health');

    // Assert
    expect(result).toEqual(token);
  });

  it('accepts a record without the optional scope and kid, and drops unknown fields', () => {
    // Arrange
    const { scope: _s, kid: _k, ...minimal } = storedToken();

    // Act
    const result = parseCachedToken(JSON.stringify({ ...minimal, refresh_token: 'x' }), 'mercy-health');

    // Assert
    expect(result).toEqual(minimal);
  });

  it('calls a record stored for another tenant foreign', () => {
    expect(problemOf(JSON.stringify(storedToken({ tenant: 'st-elsewhere' })))).toBe(
      'foreign: the record belongs to "st-elsewhere", not "mercy-health"',
    );
  });

  it.each([
    ['not JSON', 'not json {', /^not valid JSON$/],
    ['a JSON array', '[]', /^not a JSON object$/],
    ['a record without tenant', JSON.stringify({ ...storedToken(), tenant: undefined }), /^tenant: missing/],
    ['an empty access_token', JSON.stringify(storedToken({ access_token: '' })), /^access_token: /],
    ['a MAC token type', JSON.stringify(storedToken({ token_type: 'mac' })), /token_type: must be "Bearer"/],
    ['a zero expires_in', JSON.stringify(storedToken({ expires_in: 0 })), /expires_in: must be a positive/],
    [
      'a non-ISO expires_at',
      JSON.stringify(storedToken({ expires_at: 'tomorrow' })),
      /expires_at: must be an ISO 8601/,
    ],
    [
      'a date-only obtained_at',
      JSON.stringify(storedToken({ obtained_at: '2026-12-04' })),
      /obtained_at: must be an ISO/,
    ],
    [
      'expires_at before obtained_at',
      JSON.stringify(storedToken({ expires_at: '2026-12-04T09:00:00Z' })),
      /expires_at: must be later than obtained_at/,
    ],
    ['a numeric scope', JSON.stringify({ ...storedToken(), scope: 5 }), /scope: not a string/],
  ])('rejects %s', (_name, text, problem) => {
    expect(problemOf(text)).toMatch(problem);
  });

  it('never quotes the token or the stored text in the problem', () => {
    // Arrange: values that make JSON.parse and field checks see the token
    const token = storedToken();
    const cases = [
      `${JSON.stringify(token)}garbage`,
      JSON.stringify({ ...token, token_type: token.access_token }),
      JSON.stringify({ ...token, tenant: token.access_token }),
      JSON.stringify({ ...token, expires_at: token.access_token }),
    ];

    // Act
    const problems = cases.map((text) => problemOf(text));

    // Assert
    for (const problem of problems) expect(problem).not.toContain(token.access_token.slice(0, 20));
  });
});
