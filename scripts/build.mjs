// Compiles services/**/*.ts to dist/ with SWC (decorator metadata included, which esbuild
// cannot emit) and builds the portal with Vite. Type checking is `npm run typecheck`.
import { transformFile } from '@swc/core';
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile, rm } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outRoot = join(root, 'dist');
const skipDirs = new Set(['node_modules', 'portal']);

async function* sources(dir) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!skipDirs.has(entry.name)) yield* sources(full);
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
      yield full;
    }
  }
}

export const swcOptions = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
    target: 'es2022',
    keepClassNames: true,
  },
  module: { type: 'es6' },
  sourceMaps: true,
};

async function compileServices() {
  await rm(join(outRoot, 'services'), { recursive: true, force: true });
  const jobs = [];
  for await (const file of sources(join(root, 'services'))) {
    jobs.push(
      (async () => {
        const out = join(outRoot, relative(root, file)).replace(/\.ts$/, '.js');
        const result = await transformFile(file, { ...swcOptions, filename: file, sourceFileName: relative(dirname(out), file) });
        await mkdir(dirname(out), { recursive: true });
        await writeFile(out, `${result.code}\n//# sourceMappingURL=${out.split('/').pop()}.map\n`);
        if (result.map) await writeFile(`${out}.map`, result.map);
      })(),
    );
  }
  await Promise.all(jobs);
  return jobs.length;
}

const count = await compileServices();
console.log(`compiled ${count} files to dist/services`);
const portal = join(root, 'services/portal');
if (!process.argv.includes('--no-portal') && existsSync(join(portal, 'vite.config.ts'))) {
  const vite = spawnSync(process.execPath, [join(root, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], { cwd: portal, stdio: 'inherit' });
  if (vite.status !== 0) process.exit(vite.status ?? 1);
}
