// Repositories own all SQL: services/db is the only package that may import Kysely or build a
// query. This reads the real source tree, so a query written anywhere else fails here.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const services = join(root, 'services');
const database = join(services, 'db');

const SOURCE = /\.(?:ts|tsx|mts|cts|js|mjs|cjs)$/;
/** `import … from 'kysely'`, `export … from 'kysely/…'`, `import('kysely')`, `require('kysely')`. */
const KYSELY_IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)['"]kysely(?:\/[^'"]*)?['"]/m;
/** Query-builder entry points and raw SQL: none of them has a reason to appear outside services/db. */
const QUERY_BUILDING = /\.(?:selectFrom|insertInto|updateTable|deleteFrom|replaceInto|mergeInto)\(|\.transaction\(\)|\bsql`/;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name.startsWith('.')) return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return SOURCE.test(entry.name) ? [path] : [];
  });
}

const inDatabasePackage = (file: string): boolean => file === database || file.startsWith(database + sep);
const matching = (files: string[], pattern: RegExp): string[] =>
  files.filter((file) => pattern.test(readFileSync(file, 'utf8'))).map((file) => relative(root, file));

describe('the SQL boundary', () => {
  const files = sourceFiles(services);

  it('scans the product tree, and its patterns see the imports and queries services/db has', () => {
    expect(files.length).toBeGreaterThan(100);
    const db = files.filter(inDatabasePackage);
    expect(matching(db, KYSELY_IMPORT)).toContain(join('services', 'db', 'src', 'database.ts'));
    expect(matching(db, QUERY_BUILDING).length).toBeGreaterThan(5);
  });

  it('has no Kysely import outside services/db', () => {
    expect(
      matching(
        files.filter((file) => !inDatabasePackage(file)),
        KYSELY_IMPORT,
      ),
    ).toEqual([]);
  });

  it('builds no query and opens no transaction outside services/db', () => {
    expect(
      matching(
        files.filter((file) => !inDatabasePackage(file)),
        QUERY_BUILDING,
      ),
    ).toEqual([]);
  });
});
