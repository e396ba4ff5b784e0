import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileTokenStore } from '../../../functions/core/tokens/file-token-store.js';
import { MemoryLogger } from '../../helpers/fakes.js';
import { storedToken } from './token-fixtures.js';

let root: string;
let dir: string;
let logger: MemoryLogger;
let store: FileTokenStore;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'file-token-store-'));
  dir = join(root, 'tokens');
  logger = new MemoryLogger();
  store = new FileTokenStore({ dir, logger });
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('FileTokenStore', () => {
  it('reads back what it wrote', async () => {
    // Arrange
    const token = storedToken();

    // Act
    await store.write(token);
    const read = await store.read('mercy-health');

    // Assert
    expect(read).toEqual(token);
  });

  it('reads a tenant that has no file as missing', async () => {
    expect(await store.read('mercy-health')).toBeUndefined();
    expect(logger.entries).toEqual([]);
  });

  it('stores each tenant in <dir>/<tenant>.json with mode 0600 and leaves no temp file', async () => {
    // Arrange
    const token = storedToken();

    // Act
    await store.write(token);
    await store.write({ ...token, access_token: 'SECOND-TOKEN-VALUE-123456' });

    // Assert
    const file = join(dir, 'mercy-health.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect(await readdir(dir)).toEqual(['mercy-health.json']);
    expect(JSON.parse(await readFile(file, 'utf8')).access_token).toBe('SECOND-TOKEN-VALUE-123456');
  });

  it('never lets a reader see a half-written record while writes race', async () => {
    // Arrange
    const tokens = Array.from({ length: 20 }, (_, i) =>
      storedToken({ access_token: `TOKEN-${i}-${'x'.repeat(4000)}` }),
    );
    await store.write(tokens[0]!);

    // Act
    const reads = Promise.all(Array.from({ length: 40 }, () => store.read('mercy-health')));
    await Promise.all(tokens.map((t) => store.write(t)));

    // Assert
    for (const read of await reads) expect(tokens.map((t) => t.access_token)).toContain(read?.access_token);
    expect(logger.codes()).not.toContain('TOKEN_CACHE_UNREADABLE');
  });

  describe('when the stored file is unusable', () => {
    it.each([
      [
        'corrupt',
        (t: ReturnType<typeof storedToken>) => `${JSON.stringify(t).slice(0, -5)}`,
        /not valid JSON/,
      ],
      [
        'foreign',
        (t: ReturnType<typeof storedToken>) => JSON.stringify({ ...t, tenant: 'other' }),
        /^foreign/,
      ],
    ])(
      'treats a %s file as missing and logs TOKEN_CACHE_UNREADABLE without the token',
      async (_n, make, problem) => {
        // Arrange
        const token = storedToken();
        await store.write(storedToken({ tenant: 'other' })); // creates the directory
        await writeFile(join(dir, 'mercy-health.json'), make(token));

        // Act
        const read = await store.read('mercy-health');

        // Assert
        expect(read).toBeUndefined();
        expect(logger.entries).toEqual([
          {
            level: 'warn',
            code: 'TOKEN_CACHE_UNREADABLE',
            fields: [{ tenant: 'mercy-health', problem: expect.stringMatching(problem), store: 'file' }],
          },
        ]);
        expect(logger.text()).not.toContain(token.access_token);
      },
    );
  });

  it('refuses a tenant id that is not file-safe', async () => {
    await expect(store.read('../etc/passwd')).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(store.write(storedToken({ tenant: '../x' }))).rejects.toMatchObject({
      code: 'invalid_input',
    });
  });

  it('reports an unwritable directory as token_store_unavailable without the token', async () => {
    // Arrange: the store directory path is a file
    await writeFile(join(root, 'blocked'), '');
    const blocked = new FileTokenStore({ dir: join(root, 'blocked'), logger });
    const token = storedToken();

    // Act
    const result = blocked.write(token);

    // Assert
    await expect(result).rejects.toMatchObject({ code: 'token_store_unavailable' });
    const error = (await result.catch((e: unknown) => e)) as Error & { details: unknown };
    expect(JSON.stringify({ m: String(error), d: error.details })).not.toContain(token.access_token);
  });
});
