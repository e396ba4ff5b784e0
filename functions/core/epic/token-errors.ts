/**
 * What an operator should do about each OAuth error Epic's token endpoint returns (EPIC.md,
 * "Errors"). Used in 502 bodies, logs and the preflight report.
 */
export const TOKEN_ERROR_HINTS: Readonly<Record<string, string>> = {
  invalid_client:
    'Epic could not authenticate our client assertion: the JWK Set URL may not be registered for this client id yet, ' +
    'the client may not have synced to this organization yet (this can take hours), the JWK Set URL may be unreachable ' +
    'from Epic, or the active key is not published. Check the JWK Set URL on the app registration and that it serves ' +
    'the active kid.',
  unauthorized_client:
    "The client id is not mapped to an Epic user at this organization yet. Ask the health system's Epic analyst to " +
    'map the backend client id to a background user (the sandbox does this automatically).',
  invalid_request:
    'Epic considered the token request malformed. This is a defect in this service; contact the on-call engineer ' +
    'with the time of the request.',
  invalid_grant:
    'Epic refused the grant. Check that the app is a Backend Systems app and that client_credentials is enabled.',
  invalid_scope: 'Epic refused the requested scope. Remove or correct the tenant\'s "scope" setting.',
};

export function tokenErrorHint(epicError: string): string {
  return (
    TOKEN_ERROR_HINTS[epicError] ??
    'Epic refused the token request with an error this service does not know; check the app registration.'
  );
}
