import { generateKeyPairSync, type KeyObject, sign, verify } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { derToJoseSignature, EcdsaDerError } from '../../../functions/core/keys/ecdsa-der.js';

/** A test-only DER encoder, written independently of the parser under test. */
function derInteger(value: Uint8Array): number[] {
  let i = 0;
  while (i < value.length - 1 && value[i] === 0) i += 1;
  const body = [...value.subarray(i)];
  if ((body[0]! & 0x80) !== 0) body.unshift(0);
  return [0x02, ...derLength(body.length), ...body];
}
function derLength(n: number): number[] {
  return n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
}
function derSignature(r: Uint8Array, s: Uint8Array): Uint8Array {
  const body = [...derInteger(r), ...derInteger(s)];
  return Uint8Array.from([0x30, ...derLength(body.length), ...body]);
}

const P384_KEYS: KeyObject[] = Array.from(
  { length: 24 },
  () => generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey,
);

describe('derToJoseSignature', () => {
  describe('with real P-384 signatures from node:crypto', () => {
    it('turns every DER signature into a 96-byte r||s that verifies as ieee-p1363', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: P384_KEYS.length - 1 }),
          fc.uint8Array({ minLength: 0, maxLength: 512 }),
          (keyIndex, message) => {
            // Arrange
            const privateKey = P384_KEYS[keyIndex]!;
            const der = sign('sha384', message, { key: privateKey, dsaEncoding: 'der' });

            // Act
            const jose = derToJoseSignature(der);

            // Assert
            expect(jose).toHaveLength(96);
            expect(verify('sha384', message, { key: privateKey, dsaEncoding: 'ieee-p1363' }, jose)).toBe(
              true,
            );
          },
        ),
        { numRuns: 300 },
      );
    });

    it('reproduces node ieee-p1363 signatures byte for byte after a DER round trip', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: P384_KEYS.length - 1 }),
          fc.uint8Array({ maxLength: 256 }),
          (keyIndex, message) => {
            // Arrange
            const p1363 = sign('sha384', message, { key: P384_KEYS[keyIndex]!, dsaEncoding: 'ieee-p1363' });
            const der = derSignature(p1363.subarray(0, 48), p1363.subarray(48));

            // Act
            const jose = derToJoseSignature(der);

            // Assert
            expect(Buffer.from(jose).equals(p1363)).toBe(true);
          },
        ),
        { numRuns: 300 },
      );
    });
  });

  describe('with short integers and leading zeros', () => {
    it('left-pads r and s of any length up to 48 bytes', () => {
      const scalar = fc
        .uint8Array({ minLength: 1, maxLength: 48 })
        .filter((bytes) => bytes.some((b) => b !== 0));
      fc.assert(
        fc.property(scalar, scalar, (r, s) => {
          // Arrange
          const der = derSignature(r, s);
          const expected = new Uint8Array(96);
          expected.set(r, 48 - r.length);
          expected.set(s, 96 - s.length);

          // Act
          const jose = derToJoseSignature(der);

          // Assert
          expect(Buffer.from(jose).toString('hex')).toBe(Buffer.from(expected).toString('hex'));
        }),
        { numRuns: 500 },
      );
    });

    it('reads a long-form SEQUENCE length when the size is 66 (P-521)', () => {
      // Arrange
      const privateKey = generateKeyPairSync('ec', { namedCurve: 'P-521' }).privateKey;
      const message = Buffer.from('long form');
      const der = sign('sha512', message, { key: privateKey, dsaEncoding: 'der' });

      // Act
      const jose = derToJoseSignature(der, 66);

      // Assert
      expect(jose).toHaveLength(132);
      expect(verify('sha512', message, { key: privateKey, dsaEncoding: 'ieee-p1363' }, jose)).toBe(true);
    });
  });

  describe('with malformed input', () => {
    const r = Uint8Array.from({ length: 48 }, (_, i) => i + 1);
    const s = Uint8Array.from({ length: 48 }, (_, i) => 200 - i);
    const good = derSignature(r, s);
    const intR = derInteger(r);
    const intS = derInteger(s);
    const seq = (...body: number[]) => Uint8Array.from([0x30, ...derLength(body.length), ...body]);

    const cases: Array<[string, Uint8Array, RegExp]> = [
      ['empty input', new Uint8Array(0), /empty/],
      ['a non-SEQUENCE tag', Uint8Array.from([0x31, ...good.subarray(1)]), /SEQUENCE tag/],
      ['a truncated signature', good.subarray(0, good.length - 1), /past the end/],
      ['trailing bytes after the SEQUENCE', Uint8Array.from([...good, 0x00]), /trailing/],
      ['an indefinite length', Uint8Array.from([0x30, 0x80, ...intR, ...intS, 0, 0]), /indefinite/],
      [
        'a non-minimal long-form length',
        Uint8Array.from([0x30, 0x81, 0x05, 0x02, 0x01, 0x01, 0x02, 0x01]),
        /minimal/,
      ],
      ['a missing s', seq(...intR), /s is missing/],
      ['a wrong INTEGER tag', seq(0x04, ...intR.slice(1), ...intS), /INTEGER tag/],
      ['an extra element', seq(...intR, ...intS, 0x02, 0x01, 0x01), /unexpected/],
      ['an empty INTEGER', seq(0x02, 0x00, ...intS), /empty/],
      ['a negative INTEGER', seq(0x02, 0x01, 0x81, ...intS), /negative/],
      ['a non-minimal leading zero', seq(0x02, 0x02, 0x00, 0x01, ...intS), /leading zero/],
      [
        'an INTEGER longer than 48 bytes',
        seq(...derInteger(new Uint8Array(49).fill(1)), ...intS),
        /more than 48/,
      ],
      ['a zero INTEGER', seq(0x02, 0x01, 0x00, ...intS), /zero/],
      [
        'an INTEGER running past the SEQUENCE',
        Uint8Array.from([0x30, 0x03, 0x02, 0x05, 0x01]),
        /past the end/,
      ],
    ];

    it.each(cases)('rejects %s with a clear error', (_name, der, message) => {
      // Act
      const act = () => derToJoseSignature(der);

      // Assert
      expect(act).toThrow(EcdsaDerError);
      expect(act).toThrow(message);
    });

    it('accepts the well-formed control case', () => {
      expect(derToJoseSignature(good)).toEqual(Uint8Array.from([...r, ...s]));
    });
  });
});
