import { type JsonSchema, JsonSchemaType, JsonSchemaVersion } from 'aws-cdk-lib/aws-apigateway';

/**
 * API Gateway request models for the POST routes (API.md). They reject unknown fields and cap every
 * string, so a body that passes is at most a few kilobytes: this is the gateway's request size
 * limit. Every cap is at or above what the functions accept (they validate fully and name the bad
 * field), so the schemas only turn away what can never be valid.
 */
const str = (maxLength: number): JsonSchema => ({ type: JsonSchemaType.STRING, maxLength });

const idObject = (fields: Record<string, JsonSchema>): JsonSchema => ({
  type: JsonSchemaType.OBJECT,
  additionalProperties: false,
  properties: fields,
});

// No pattern: an id that is not configured gets the function's 404 `unknown_tenant`.
const tenant = str(40);
const dateTime = str(64);
const fhirId = str(200);

export const TENANT_REQUEST: JsonSchema = {
  schema: JsonSchemaVersion.DRAFT4,
  title: 'TenantRequest',
  type: JsonSchemaType.OBJECT,
  additionalProperties: false,
  required: ['tenant'],
  properties: { tenant, force: { type: JsonSchemaType.BOOLEAN } },
};

export const FIND_SLOTS_REQUEST: JsonSchema = {
  schema: JsonSchemaVersion.DRAFT4,
  title: 'FindSlotsRequest',
  type: JsonSchemaType.OBJECT,
  additionalProperties: false,
  required: ['tenant', 'start', 'end'],
  properties: {
    tenant,
    start: dateTime,
    end: dateTime,
    provider: idObject({ name: str(200), id: fhirId, npi: str(10) }),
    location: idObject({ id: fhirId }),
    serviceType: idObject({ code: str(64), system: str(300) }),
    patient: idObject({ id: fhirId }),
    limit: { type: JsonSchemaType.INTEGER },
  },
};
