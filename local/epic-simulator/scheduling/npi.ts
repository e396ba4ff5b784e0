/**
 * NPI check digits: the Luhn formula over the NPI's first nine digits prefixed with `80840`
 * (the health-industry card issuer prefix), as CMS specifies.
 */
const PREFIX = '80840';

function luhnCheckDigit(payload: string): number {
  let sum = 0;
  for (let i = 0; i < payload.length; i++) {
    // Double every second digit, starting with the rightmost digit of the payload.
    let d = Number(payload[payload.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return (10 - (sum % 10)) % 10;
}

/** `first9` + its check digit: a valid 10-digit NPI. */
export function withNpiCheckDigit(first9: string): string {
  if (!/^\d{9}$/.test(first9)) throw new Error('An NPI starts with exactly nine digits');
  return `${first9}${luhnCheckDigit(PREFIX + first9)}`;
}

export function isValidNpi(npi: string): boolean {
  return /^\d{10}$/.test(npi) && withNpiCheckDigit(npi.slice(0, 9)) === npi;
}
