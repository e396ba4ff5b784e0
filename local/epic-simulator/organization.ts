import { randomBytes } from 'node:crypto';
import type { Clock } from '../../functions/core/clock.js';
import { FaultSlot } from './faults.js';
import type { FhirBackend } from './fhir-backend.js';
import { JwksCache } from './jwks-cache.js';
import { JtiRegistry, type RegisteredClient, type TokenEndpointContext } from './token-endpoint.js';

/** What the simulator counted for one organization since start or the last `resetStats()`. */
export interface SimulatorStats {
  /** Requests to the token endpoint (any method, faulted ones included). */
  tokenRequests: number;
  /** Access tokens issued. */
  tokensIssued: number;
  /** HTTP fetches of client JWK Set URLs (failed attempts included). */
  jwksFetches: number;
  /** Requests to the FHIR data routes (Practitioner read/search, Appointment.$find). */
  fhirRequests: number;
  /** Requests to `.well-known/smart-configuration`. */
  discoveryRequests: number;
  /** Every token request refused, in order: the OAuth `error` answered and why. */
  rejections: Array<{ error: string; reason: string }>;
  /** Requests no Epic route would answer (`METHOD /path -> status: why`). A test expects none. */
  unexpected: string[];
}

/** Absolute URLs of one organization. */
export interface SimulatorEndpoints {
  /** `<url>/<org>/oauth2/token`: what `aud` must equal. */
  tokenUrl: string;
  /** `<url>/<org>/api/FHIR/R4` */
  r4Base: string;
  /** `<url>/<org>/api/FHIR/STU3` */
  stu3Base: string;
  /** `<r4Base>/.well-known/smart-configuration` */
  smartConfigurationUrl: string;
}

/** An issued access token (the map key is the opaque token itself). */
export interface IssuedToken {
  clientId: string;
  expiresAtMs: number;
}

function emptyStats(): SimulatorStats {
  return {
    tokenRequests: 0,
    tokensIssued: 0,
    jwksFetches: 0,
    fhirRequests: 0,
    discoveryRequests: 0,
    rejections: [],
    unexpected: [],
  };
}

/** The mutable state of one simulated Epic organization. */
export class OrganizationState {
  readonly clients: ReadonlyMap<string, RegisteredClient>;
  readonly faults = { token: new FaultSlot(), fhir: new FaultSlot() };
  readonly tokenEndpoint: TokenEndpointContext;
  stats: SimulatorStats = emptyStats();
  private readonly tokens = new Map<string, IssuedToken>();

  readonly id: string;
  readonly endpoints: SimulatorEndpoints;
  readonly fhir: FhirBackend | undefined;
  tokenLifetimeSeconds: number;
  private readonly clock: Clock;

  constructor(options: {
    id: string;
    endpoints: SimulatorEndpoints;
    clients: readonly RegisteredClient[];
    tokenLifetimeSeconds: number;
    fhir: FhirBackend | undefined;
    clock: Clock;
    fetch: typeof fetch;
  }) {
    this.id = options.id;
    this.endpoints = options.endpoints;
    this.fhir = options.fhir;
    this.tokenLifetimeSeconds = options.tokenLifetimeSeconds;
    this.clock = options.clock;
    this.clients = new Map(options.clients.map((client) => [client.clientId, client]));
    const jwks = new JwksCache({
      fetch: options.fetch,
      clock: options.clock,
      onFetch: () => this.stats.jwksFetches++,
    });
    this.tokenEndpoint = {
      tokenUrl: options.endpoints.tokenUrl,
      clients: this.clients,
      jwks,
      jtis: new JtiRegistry(),
      clock: options.clock,
    };
  }

  /** Issues an opaque access token to `clientId` for the current token lifetime. */
  issueToken(clientId: string): { accessToken: string; expiresIn: number } {
    const now = this.clock.now();
    for (const [token, issued] of this.tokens) {
      if (issued.expiresAtMs <= now) this.tokens.delete(token);
    }
    const accessToken = randomBytes(32).toString('base64url');
    const expiresIn = this.tokenLifetimeSeconds;
    this.tokens.set(accessToken, { clientId, expiresAtMs: now + expiresIn * 1000 });
    this.stats.tokensIssued++;
    return { accessToken, expiresIn };
  }

  /** The token's record while it is valid; undefined when unknown, revoked or expired. */
  validToken(accessToken: string): IssuedToken | undefined {
    const issued = this.tokens.get(accessToken);
    return issued !== undefined && this.clock.now() < issued.expiresAtMs ? issued : undefined;
  }

  revokeTokens(): void {
    this.tokens.clear();
  }

  resetStats(): void {
    this.stats = emptyStats();
  }
}
