import { describe, expect, it } from 'vitest';
import { TenantRegistry } from '../../../functions/core/config/tenants.js';
import { AppError } from '../../../functions/core/errors/app-error.js';
import { toHttpError } from '../../../functions/core/errors/http-status.js';
import {
  isValidNpi,
  parseOffsetDateTime,
  validateFindSlotsRequest,
} from '../../../functions/core/scheduling/validate-request.js';
import { SERVICE_TYPE_SYSTEM, tenantConfig } from './support/fakes.js';

const tenants = new TenantRegistry([tenantConfig('http://127.0.0.1:1')]);
const VALID = { tenant: 'sandbox', start: '2026-12-07T08:00:00Z', end: '2026-12-07T17:00:00Z' };

function rejection(body: unknown): {
  status: number;
  error: string;
  field: unknown;
  message: string;
  details: Record<string, unknown>;
} {
  try {
    validateFindSlotsRequest(body, tenants);
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    const mapped = toHttpError(error);
    return {
      status: mapped.statusCode,
      error: mapped.body.error,
      field: mapped.body.details.field,
      message: mapped.body.message,
      details: mapped.body.details,
    };
  }
  throw new Error('expected a rejection');
}

describe('validateFindSlotsRequest', () => {
  describe('with a valid body', () => {
    it('accepts the three required fields and defaults the limit', () => {
      const request = validateFindSlotsRequest(VALID, tenants);

      expect(request).toMatchObject({ start: VALID.start, end: VALID.end, limit: 50 });
      expect(request.tenant.id).toBe('sandbox');
      expect(request.endMs - request.startMs).toBe(9 * 3_600_000);
    });

    it('accepts every optional field and fills the service type system and display from the tenant', () => {
      const request = validateFindSlotsRequest(
        {
          ...VALID,
          provider: { name: '  Smith,   Jane ' },
          location: { id: 'e4W4bGmhBQbLmQ5dC9BPh1g3' },
          serviceType: { code: '95014' },
          patient: { id: 'erXuFYUfucBZaryVksYEcMg3' },
          limit: 500,
        },
        tenants,
      );

      expect(request).toMatchObject({
        provider: { kind: 'name', name: 'Smith, Jane' },
        locationId: 'e4W4bGmhBQbLmQ5dC9BPh1g3',
        serviceType: { system: SERVICE_TYPE_SYSTEM, code: '95014', display: 'Office Visit' },
        patientId: 'erXuFYUfucBZaryVksYEcMg3',
        limit: 500,
      });
    });

    it('accepts a provider by id or by NPI, and offsets other than Z', () => {
      expect(
        validateFindSlotsRequest({ ...VALID, provider: { id: 'eQ1xW7vJm0pAsm1th.Jn3' } }, tenants).provider,
      ).toEqual({
        kind: 'id',
        id: 'eQ1xW7vJm0pAsm1th.Jn3',
      });
      expect(
        validateFindSlotsRequest({ ...VALID, provider: { npi: '1234567893' } }, tenants).provider,
      ).toEqual({
        kind: 'npi',
        npi: '1234567893',
      });
      expect(
        validateFindSlotsRequest({ ...VALID, start: '2026-12-07T08:00:00-05:00' }, tenants).startMs,
      ).toBe(Date.parse('2026-12-07T13:00:00Z'));
    });
  });

  it('answers 404 unknown_tenant for a tenant that is not configured', () => {
    expect(rejection({ ...VALID, tenant: 'nope' })).toMatchObject({
      status: 404,
      error: 'unknown_tenant',
      field: 'tenant',
    });
  });

  it.each([
    ['a missing tenant', { start: VALID.start, end: VALID.end }, 'tenant'],
    ['a missing start', { tenant: 'sandbox', end: VALID.end }, 'start'],
    ['a start without an offset', { ...VALID, start: '2026-12-07T08:00:00' }, 'start'],
    ['a start without seconds', { ...VALID, start: '2026-12-07T08:00Z' }, 'start'],
    ['an end without seconds', { ...VALID, end: '2026-12-07T17:00-05:00' }, 'end'],
    ['a date without a time', { ...VALID, start: '2026-12-07' }, 'start'],
    ['a day that does not exist', { ...VALID, start: '2026-02-30T08:00:00Z' }, 'start'],
    ['an hour that does not exist', { ...VALID, end: '2026-12-07T24:00:00Z' }, 'end'],
    ['a numeric start', { ...VALID, start: 1796630400000 }, 'start'],
    ['an end before the start', { ...VALID, end: '2026-12-07T07:00:00Z' }, 'end'],
    ['an end equal to the start', { ...VALID, end: VALID.start }, 'end'],
    ['a window over 31 days', { ...VALID, end: '2027-01-08T08:00:01Z' }, 'end'],
    ['two provider keys', { ...VALID, provider: { name: 'Jane Smith', npi: '1234567893' } }, 'provider'],
    ['an empty provider', { ...VALID, provider: {} }, 'provider'],
    ['a provider string', { ...VALID, provider: 'Jane Smith' }, 'provider'],
    ['an unknown provider key', { ...VALID, provider: { email: 'x@y' } }, 'provider.email'],
    ['an unknown service type key', { ...VALID, serviceType: { code: '95014', foo: 1 } }, 'serviceType.foo'],
    [
      'two unknown service type keys',
      { ...VALID, serviceType: { code: '95014', foo: 1, bar: 2 } },
      'serviceType',
    ],
    ['a blank name', { ...VALID, provider: { name: '   ' } }, 'provider.name'],
    ['a name over 100 characters', { ...VALID, provider: { name: 'a'.repeat(101) } }, 'provider.name'],
    ['a name with a control character', { ...VALID, provider: { name: 'Jane\u0000Smith' } }, 'provider.name'],
    ['an id with a slash', { ...VALID, provider: { id: '../Patient/1' } }, 'provider.id'],
    ['an id of dots only', { ...VALID, provider: { id: '..' } }, 'provider.id'],
    ['an NPI of 9 digits', { ...VALID, provider: { npi: '123456789' } }, 'provider.npi'],
    ['an NPI as a number', { ...VALID, provider: { npi: 1234567893 } }, 'provider.npi'],
    ['an NPI with a bad check digit', { ...VALID, provider: { npi: '1234567890' } }, 'provider.npi'],
    ['an unknown service type code', { ...VALID, serviceType: { code: '99999' } }, 'serviceType.code'],
    [
      'another coding system',
      { ...VALID, serviceType: { code: '95014', system: 'urn:oid:1.2.3' } },
      'serviceType.system',
    ],
    ['a location with a name instead of an id', { ...VALID, location: { name: 'Main' } }, 'location.name'],
    ['a patient id with spaces', { ...VALID, patient: { id: 'a b' } }, 'patient.id'],
    ['a limit of 0', { ...VALID, limit: 0 }, 'limit'],
    ['a limit of 501', { ...VALID, limit: 501 }, 'limit'],
    ['a fractional limit', { ...VALID, limit: 2.5 }, 'limit'],
    ['a limit as a string', { ...VALID, limit: '10' }, 'limit'],
    ['an unknown field', { ...VALID, practitioner: 'x' }, 'practitioner'],
  ])('rejects %s with a 400 naming the field', (_label, body, field) => {
    const result = rejection(body);

    expect(result).toMatchObject({ status: 400, error: 'invalid_input', field });
    expect(result.message.length).toBeGreaterThan(10);
  });

  it("lists the tenant's bookable codes when the service type is not one of them", () => {
    const result = rejection({ ...VALID, serviceType: { code: '99999' } });

    expect(result.message).toContain('95014 (Office Visit), 95015 (New Patient Visit)');
    expect(result.details.allowed).toEqual(['95014', '95015']);
  });

  it('says seconds are required and gives an example when a time has none', () => {
    const result = rejection({ ...VALID, end: '2026-12-07T17:00Z' });

    expect(result.field).toBe('end');
    expect(result.message).toContain('must include seconds');
    expect(result.message).toContain('"2026-12-07T08:00:00Z"');
  });

  it('accepts fractional seconds', () => {
    const request = validateFindSlotsRequest({ ...VALID, start: '2026-12-07T08:00:00.5Z' }, tenants);

    expect(request.startMs).toBe(Date.parse('2026-12-07T08:00:00.500Z'));
  });

  it('lists the allowed fields when an unknown one is sent', () => {
    expect(rejection({ ...VALID, foo: 1 }).message).toContain('allowed: tenant, start, end, provider');
  });
});

describe('isValidNpi', () => {
  it.each(['1234567893', '1245319599', '1003000126'])('accepts %s', (npi) => {
    expect(isValidNpi(npi)).toBe(true);
  });

  it.each(['1234567890', '123456789', '12345678931', 'abcdefghij'])('rejects %s', (npi) => {
    expect(isValidNpi(npi)).toBe(false);
  });
});

describe('parseOffsetDateTime', () => {
  it('accepts fractional seconds and leap days', () => {
    expect(parseOffsetDateTime('2028-02-29T10:00:00.123+01:00')).toBe(Date.parse('2028-02-29T09:00:00.123Z'));
  });

  it('rejects a leap day in a common year', () => {
    expect(parseOffsetDateTime('2027-02-29T10:00:00Z')).toBeUndefined();
  });
});
