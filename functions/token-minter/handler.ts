import type { Context } from 'aws-lambda';
import { InvalidInputError } from '../core/errors/app-error.js';
import type { AppLogger } from '../core/observability/powertools.js';
import {
  encodeMintError,
  encodeMintResult,
  isMintEvent,
  isWarmEvent,
  type MintResponse,
} from '../core/tokens/minter-protocol.js';
import type { TokenMintingService, WarmSummary } from '../core/tokens/token-minter.js';
import { minterDependencies } from '../lambda/dependencies.js';

/**
 * The token minter Lambda (no route, reserved concurrency 1): `{action: "mint", tenant, force}` from
 * readers, `{action: "warm"}` (or a scheduled event) from the warmer schedule.
 */
export function createMinterHandler(deps: { minter: TokenMintingService; logger: AppLogger }) {
  return async (event: unknown, _context?: Context): Promise<MintResponse | WarmSummary> => {
    if (isWarmEvent(event)) return deps.minter.warm();
    if (!isMintEvent(event)) {
      deps.logger.warn('MINTER_EVENT_REJECTED', {});
      return encodeMintError(
        new InvalidInputError(
          'action',
          'Send {"action":"mint","tenant":"<id>","force":false} or {"action":"warm"}.',
        ),
      );
    }
    try {
      const { tenant, force, rejectedTokenSha256 } = event;
      return encodeMintResult(
        await deps.minter.mint({ tenant, force, ...(rejectedTokenSha256 ? { rejectedTokenSha256 } : {}) }),
      );
    } catch (error) {
      return encodeMintError(error);
    }
  };
}

let built: ReturnType<typeof createMinterHandler> | undefined;

export const handler = (event: unknown, context?: Context) => {
  built ??= createMinterHandler(minterDependencies());
  return built(event, context);
};
