import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  EPIC_API_MANIFEST,
  EPIC_APIS_CALLED_BY_CODE,
  type EpicApi,
  findEpicApi,
  groupByArea,
} from '../../../functions/core/integration/epic-api-manifest.js';

interface CatalogApi {
  name: string;
  resource: string;
  interaction: string;
  fhirVersion: string;
  area: string;
  epicApiId: number;
  alsoSeenAs?: string[];
}

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..', '..', '..');
const catalog = JSON.parse(readFileSync(join(here, 'fixtures', 'epic-api-catalog.json'), 'utf8')) as {
  apis: CatalogApi[];
};
const catalogById = new Map(catalog.apis.map((a) => [a.epicApiId, a]));

/** Product code that may call Epic: everything under functions/ except the manifest's own folder. */
function productSourceFiles(dir = join(repoRoot, 'functions')): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) {
      if (path !== join(repoRoot, 'functions', 'core', 'integration')) out.push(...productSourceFiles(path));
    } else if (entry.endsWith('.ts')) {
      out.push(path);
    }
  }
  return out;
}

/** Every string literal in the code that is an Epic API name, e.g. 'Appointment.$find (STU3)'. */
const API_NAME_LITERAL =
  /['"`]([A-Z][A-Za-z]+(?:\.| )(?:\$[a-z-]+|Read|Search|Create|Update)(?: \([^)'"`]*\))* \((?:DSTU2|STU3|R4)\))['"`]/g;

/** FHIR REST URLs built in code: `${base}/Resource?`, `${base}/Resource/${id}`, `${base}/Resource/$op`. */
const FHIR_URL = /\$\{([^}]*)\}\/([A-Z][A-Za-z]+)(\?|\/\$\{|\/\$([a-z-]+))/g;

function apiParts(api: EpicApi): { resource: string; interaction: string } {
  const match = /^([A-Za-z]+)[. ](\$[a-z-]+|[A-Za-z]+)/.exec(api.name);
  return { resource: match?.[1] ?? '', interaction: match?.[2] ?? '' };
}

describe('the Epic API manifest', () => {
  it('names every API exactly as the Epic catalog does, with the same id, FHIR version and area', () => {
    // Arrange
    const mismatches: string[] = [];

    // Act
    for (const api of EPIC_API_MANIFEST) {
      const entry = catalogById.get(api.epicApiId);
      if (!entry) {
        mismatches.push(`${api.name}: id ${api.epicApiId} is not in the catalog`);
        continue;
      }
      if (entry.name !== api.name) mismatches.push(`${api.epicApiId}: "${api.name}" is "${entry.name}"`);
      if (entry.fhirVersion !== api.fhirVersion) mismatches.push(`${api.name}: version ${entry.fhirVersion}`);
      if (entry.area !== api.area) mismatches.push(`${api.name}: area "${entry.area}"`);
      for (const alias of api.alsoKnownAs ?? []) {
        if (!entry.alsoSeenAs?.includes(alias))
          mismatches.push(`${api.name}: alias "${alias}" not in the catalog`);
      }
    }

    // Assert
    expect(mismatches).toEqual([]);
  });

  it('lists each API once and serves at least one capability with each', () => {
    const ids = EPIC_API_MANIFEST.map((a) => a.epicApiId);
    const names = EPIC_API_MANIFEST.map((a) => a.name);

    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(names).size).toBe(names.length);
    expect(EPIC_API_MANIFEST.filter((a) => a.usedBy.length === 0 || a.purpose.trim() === '')).toEqual([]);
  });

  it('marks exactly the APIs of EPIC_APIS_CALLED_BY_CODE as called by code', () => {
    const called = EPIC_API_MANIFEST.filter((a) => a.calledByCode).map((a) => a.name);

    expect(called.sort()).toEqual(Object.values(EPIC_APIS_CALLED_BY_CODE).sort());
    expect(called).toEqual(
      expect.arrayContaining([
        'Practitioner.Read (Organizational Directory) (R4)',
        'Practitioner.Search (Organizational Directory) (R4)',
        'Appointment.$find (STU3)',
      ]),
    );
  });

  it('says $find needs the organization to build its scheduling rules', () => {
    expect(findEpicApi('Appointment.$find (STU3)')?.grantedBy).toBe('organization-configuration');
    expect(findEpicApi('Practitioner.Search (R4)')?.grantedBy).toBe('scope');
  });

  it('groups APIs by area without losing or duplicating any', () => {
    const groups = groupByArea(EPIC_API_MANIFEST);

    expect(groups.reduce((n, g) => n + g.apis.length, 0)).toBe(EPIC_API_MANIFEST.length);
    expect(new Set(groups.map((g) => g.area)).size).toBe(groups.length);
    expect(groups.find((g) => g.area === 'Appointment, Schedule, Slot')?.apis.map((a) => a.name)).toContain(
      'Appointment.$find (STU3)',
    );
  });
});

describe('the APIs the product code calls', () => {
  const files = productSourceFiles();
  const sources = files.map((path) => ({ path: relative(repoRoot, path), text: readFileSync(path, 'utf8') }));

  it('are all in the manifest and marked as called, for every Epic API name the code uses', () => {
    // Arrange
    const problems: string[] = [];
    const seen = new Set<string>();

    // Act
    for (const { path, text } of sources) {
      for (const match of text.matchAll(API_NAME_LITERAL)) {
        const name = match[1] ?? '';
        seen.add(name);
        const api = findEpicApi(name);
        if (!api) problems.push(`${path}: "${name}" is not in the manifest`);
        else if (!api.calledByCode) problems.push(`${path}: "${name}" is called but not marked calledByCode`);
      }
    }

    // Assert
    expect(problems).toEqual([]);
    expect(seen.size).toBeGreaterThan(0);
  });

  it('are all in the manifest and marked as called, for every FHIR URL the code builds', () => {
    // Arrange
    const called = EPIC_API_MANIFEST.filter((a) => a.calledByCode);
    const problems: string[] = [];
    const found: string[] = [];

    // Act
    for (const { path, text } of sources) {
      for (const match of text.matchAll(FHIR_URL)) {
        const lineStart = text.lastIndexOf('\n', match.index) + 1;
        // A FHIR reference to a resource (e.g. `location-reference`) is data, not a call.
        if (/reference\s*:/.test(text.slice(lineStart, match.index))) continue;
        const base = match[1] ?? '';
        const resource = match[2] ?? '';
        const interaction = match[4] ? `$${match[4]}` : match[3] === '?' ? 'Search' : 'Read';
        const version = /stu3/i.test(base) ? 'STU3' : 'R4';
        const api = called.find((a) => {
          const parts = apiParts(a);
          return (
            parts.resource === resource && parts.interaction === interaction && a.fhirVersion === version
          );
        });
        found.push(`${resource}.${interaction} (${version})`);
        if (!api)
          problems.push(`${path}: ${resource}.${interaction} (${version}) is not a called manifest API`);
      }
    }

    // Assert
    expect(problems).toEqual([]);
    expect(found).toEqual(
      expect.arrayContaining([
        'Practitioner.Search (R4)',
        'Practitioner.Read (R4)',
        'Appointment.$find (STU3)',
      ]),
    );
  });

  it('include every API the manifest marks as called (comments aside)', () => {
    // Arrange
    const code = sources
      .map((s) => s.text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, ''))
      .join('\n');

    // Act
    const notCalled = Object.entries(EPIC_APIS_CALLED_BY_CODE)
      .filter(([key, name]) => {
        const api = findEpicApi(name);
        const names = [name, ...(api?.alsoKnownAs ?? [])];
        return (
          !names.some((n) => code.includes(`'${n}'`)) && !code.includes(`EPIC_APIS_CALLED_BY_CODE.${key}`)
        );
      })
      .map(([, name]) => name);

    // Assert
    expect(notCalled).toEqual([]);
  });
});
