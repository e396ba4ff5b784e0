/**
 * KMS (and node's default) ECDSA signatures are DER `ECDSA-Sig-Value ::= SEQUENCE { r INTEGER,
 * s INTEGER }`; JWS (RFC 7518 3.4) wants the fixed-size big-endian `r || s`. For P-384 each half is
 * 48 bytes. The parser is strict: anything that is not exactly one well-formed SEQUENCE of two
 * positive INTEGERs that fit in `size` bytes is rejected.
 */
export class EcdsaDerError extends Error {
  constructor(message: string) {
    super(`Malformed DER ECDSA signature: ${message}`);
    this.name = 'EcdsaDerError';
  }
}

interface Cursor {
  pos: number;
}

function readLength(der: Uint8Array, cur: Cursor, what: string): number {
  const first = der[cur.pos];
  if (first === undefined) throw new EcdsaDerError(`${what}: length is missing`);
  cur.pos += 1;
  if (first < 0x80) return first;
  if (first === 0x80) throw new EcdsaDerError(`${what}: indefinite length is not allowed in DER`);
  const count = first & 0x7f;
  if (count > 2) throw new EcdsaDerError(`${what}: length uses ${count} bytes, too long for a signature`);
  let length = 0;
  for (let i = 0; i < count; i += 1) {
    const b = der[cur.pos];
    if (b === undefined) throw new EcdsaDerError(`${what}: length is truncated`);
    length = (length << 8) | b;
    cur.pos += 1;
  }
  if (length < 0x80 || (count === 2 && length < 0x100))
    throw new EcdsaDerError(`${what}: length is not minimally encoded`);
  return length;
}

function readInteger(der: Uint8Array, cur: Cursor, end: number, name: 'r' | 's', size: number): Uint8Array {
  if (cur.pos >= end) throw new EcdsaDerError(`INTEGER ${name} is missing`);
  if (der[cur.pos] !== 0x02)
    throw new EcdsaDerError(`expected INTEGER tag 0x02 for ${name}, got 0x${der[cur.pos]!.toString(16)}`);
  cur.pos += 1;
  const length = readLength(der, cur, `INTEGER ${name}`);
  if (length === 0) throw new EcdsaDerError(`INTEGER ${name} is empty`);
  if (cur.pos + length > end) throw new EcdsaDerError(`INTEGER ${name} runs past the end of the SEQUENCE`);
  let bytes = der.subarray(cur.pos, cur.pos + length);
  cur.pos += length;
  if ((bytes[0]! & 0x80) !== 0) throw new EcdsaDerError(`INTEGER ${name} is negative`);
  if (bytes.length > 1 && bytes[0] === 0x00) {
    if ((bytes[1]! & 0x80) === 0) throw new EcdsaDerError(`INTEGER ${name} has a non-minimal leading zero`);
    bytes = bytes.subarray(1);
  }
  if (bytes.length > size)
    throw new EcdsaDerError(`INTEGER ${name} is ${bytes.length} bytes, more than ${size}`);
  if (bytes.every((b) => b === 0)) throw new EcdsaDerError(`INTEGER ${name} is zero`);
  return bytes;
}

/** DER ECDSA-Sig-Value -> `r || s`, each left-padded to `size` bytes (48 for P-384 -> 96 bytes). */
export function derToJoseSignature(der: Uint8Array, size = 48): Uint8Array {
  if (!Number.isInteger(size) || size <= 0)
    throw new RangeError(`size must be a positive integer, got ${size}`);
  if (der.length === 0) throw new EcdsaDerError('input is empty');
  if (der[0] !== 0x30) throw new EcdsaDerError(`expected SEQUENCE tag 0x30, got 0x${der[0]!.toString(16)}`);
  const cur: Cursor = { pos: 1 };
  const length = readLength(der, cur, 'SEQUENCE');
  const end = cur.pos + length;
  if (end !== der.length)
    throw new EcdsaDerError(
      end > der.length
        ? `SEQUENCE length ${length} runs past the end of the input`
        : `${der.length - end} trailing byte(s) after the SEQUENCE`,
    );
  const r = readInteger(der, cur, end, 'r', size);
  const s = readInteger(der, cur, end, 's', size);
  if (cur.pos !== end) throw new EcdsaDerError(`${end - cur.pos} unexpected byte(s) after INTEGER s`);
  const out = new Uint8Array(size * 2);
  out.set(r, size - r.length);
  out.set(s, size * 2 - s.length);
  return out;
}
