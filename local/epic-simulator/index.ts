/** The Epic sandbox simulator: see `server.ts` for what it serves and how strict it is. */
export * from './faults.js';
export type * from './fhir-backend.js';
export * from './fhir-routes.js';
export * from './http-replies.js';
export * from './jwks-cache.js';
export * from './operation-outcome.js';
export * from './organization.js';
export * from './server.js';
export * from './token-endpoint.js';
