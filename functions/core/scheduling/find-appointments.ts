import type { TenantConfig } from '../config/tenants.js';
import type { FhirClient, FhirResource } from '../epic/fhir-client.js';
import { NPI_SYSTEM, type ResolvedProvider } from './provider-resolution.js';
import type { FindSlotsRequest } from './validate-request.js';

/**
 * Builds Epic's STU3 `Appointment.$find` Parameters (exact names, see EPIC.md) and calls it.
 */
export const APPOINTMENT_FIND_API = 'Appointment.$find (STU3)';

/**
 * The parameter name of the practitioner hint. Epic publishes none: an organization that builds
 * provider-based scheduling decides how a practitioner in the request is used; "practitioner" with
 * a `valueReference` (reference and NPI identifier) is what such builds accept.
 */
export const PRACTITIONER_PARAMETER = 'practitioner';

export interface FhirParameter {
  name: string;
  [value: string]: unknown;
}

export interface FindParameters {
  resourceType: 'Parameters';
  parameter: FhirParameter[];
}

/** The `$find` body for a validated request (and the resolved provider, if any). */
export function buildFindParameters(
  request: FindSlotsRequest,
  provider: ResolvedProvider | undefined,
): FindParameters {
  const { tenant } = request;
  const parameter: FhirParameter[] = [
    { name: 'startTime', valueDateTime: request.start },
    { name: 'endTime', valueDateTime: request.end },
  ];
  if (request.serviceType) {
    const coding: Record<string, string> = {
      system: tenant.scheduling.serviceTypeSystem,
      code: request.serviceType.code,
    };
    if (request.serviceType.display) coding.display = request.serviceType.display;
    parameter.push({ name: 'serviceType', valueCodeableConcept: { coding: [coding] } });
  }
  if (request.locationId) {
    parameter.push({
      name: 'location-reference',
      valueReference: { reference: `${tenant.stu3BaseUrl}/Location/${request.locationId}` },
    });
  }
  if (request.patientId) {
    parameter.push({ name: 'patient', resource: { resourceType: 'Patient', id: request.patientId } });
  }
  if (provider && tenant.scheduling.providerBasedScheduling) {
    parameter.push({ name: PRACTITIONER_PARAMETER, valueReference: practitionerReference(tenant, provider) });
  }
  return { resourceType: 'Parameters', parameter };
}

/** Absolute R4 reference (ids can differ between FHIR versions) plus the NPI when known. */
function practitionerReference(tenant: TenantConfig, provider: ResolvedProvider): Record<string, unknown> {
  return {
    reference: `${tenant.fhirBaseUrl}/Practitioner/${provider.id}`,
    ...(provider.npi ? { identifier: { system: NPI_SYSTEM, value: provider.npi } } : {}),
    display: provider.name,
  };
}

/** Calls `$find` and returns Epic's answer (a Bundle, or an OperationOutcome for an empty answer). */
export async function findAppointments(
  request: FindSlotsRequest,
  provider: ResolvedProvider | undefined,
  fhir: FhirClient,
  deadline?: number,
): Promise<FhirResource> {
  const response = await fhir.request({
    tenant: request.tenant.id,
    api: APPOINTMENT_FIND_API,
    method: 'POST',
    url: `${request.tenant.stu3BaseUrl}/Appointment/$find`,
    body: buildFindParameters(request, provider),
    expect: ['Bundle', 'OperationOutcome'],
    ...(deadline ? { deadline } : {}),
  });
  // A 2xx always carries a resource (the client checked it).
  return response.resource as FhirResource;
}
