import { createPublicKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { keyObjectToPublicJwk } from '../../../functions/core/keys/jwk.js';
import type {
  KeyState,
  PublicSigningKey,
  SigningAlg,
  SigningKeys,
} from '../../../functions/core/keys/types.js';

/** An in-memory SigningKeys for tests that need exact control over what publicKeys() returns. */
export class FakeSigningKeys implements SigningKeys {
  readonly signCalls: Array<{ kid: string; input: string }> = [];
  constructor(
    readonly keys: PublicSigningKey[],
    private readonly privateKeys: Map<string, KeyObject> = new Map(),
  ) {}

  static async generate(specs: Array<{ alg: SigningAlg; state: KeyState; keyId: string }>) {
    const keys: PublicSigningKey[] = [];
    const privateKeys = new Map<string, KeyObject>();
    for (const spec of specs) {
      const { privateKey } =
        spec.alg === 'RS384'
          ? generateKeyPairSync('rsa', { modulusLength: 2048 })
          : generateKeyPairSync('ec', { namedCurve: 'P-384' });
      const jwk = await keyObjectToPublicJwk(createPublicKey(privateKey), spec.alg, spec.keyId);
      keys.push({ ...spec, kid: jwk.kid, jwk });
      privateKeys.set(jwk.kid, privateKey);
    }
    return new FakeSigningKeys(keys, privateKeys);
  }

  async publicKeys() {
    return this.keys;
  }
  async activeKey() {
    return this.keys.find((k) => k.state === 'active')!;
  }
  async sign(kid: string, input: Uint8Array) {
    this.signCalls.push({ kid, input: new TextDecoder().decode(input) });
    const key = this.keys.find((k) => k.kid === kid)!;
    const privateKey = this.privateKeys.get(kid)!;
    return new Uint8Array(
      key.alg === 'ES384'
        ? sign('sha384', input, { key: privateKey, dsaEncoding: 'ieee-p1363' })
        : sign('sha384', input, privateKey),
    );
  }
}
