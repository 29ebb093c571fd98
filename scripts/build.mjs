// Compiles services/**/*.ts to dist/ with SWC (decorator metadata included, which esbuild
// cannot emit) and builds the portal with Vite. Type checking is `npm run typecheck`.
//
//   node scripts/build.mjs                 the production tree: every deployable, no simulators
//   node scripts/build.mjs --with-sandbox  the dev/test tree: also services/sandbox (npm run up, tests)
//   --out <dir>                            build into <dir> instead of dist/
//   --no-portal                            skip the Vite build of the portal
//
// services/sandbox is half of all lines and pulls in packages the product never loads (they are
// devDependencies), so the tree a container ships leaves it out; the all-in-one process refuses
// HM_SANDBOX on such a tree with a message saying so.
import { transformFile } from '@swc/core';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, rename, writeFile, rm } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

class UsageError extends Error {}

function parseArguments(argv) {
  const options = { sandbox: false, portal: true, out: join(root, 'dist') };
  for (let index = 0; index < argv.length; index += 1) {
    const argument = argv[index];
    if (argument === '--with-sandbox') options.sandbox = true;
    else if (argument === '--no-portal') options.portal = false;
    else if (argument === '--out') {
      const value = argv[(index += 1)];
      if (!value) throw new UsageError('--out needs a directory');
      options.out = resolve(value);
    } else throw new UsageError(`unknown argument ${argument} (expected --with-sandbox, --no-portal, --out <dir>)`);
  }
  return options;
}

let options;
try {
  options = parseArguments(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  console.error(`build.mjs: ${error.message}`);
  process.exit(2);
}
const outRoot = options.out;
// Top-level directories of services/ that are not compiled: the portal is Vite's, and the
// sandbox only goes into the dev/test tree.
const skipServices = new Set(['portal', ...(options.sandbox ? [] : ['sandbox'])]);

async function* sources(dir) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) {
      const topLevel = dir === join(root, 'services');
      if (entry.name !== 'node_modules' && !(topLevel && skipServices.has(entry.name))) yield* sources(full);
    } else if ((entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) || entry.name.endsWith('.proto')) {
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

// Compiles into a fresh directory and swaps it in, so a server starting from dist/ while another
// build runs (parallel test files rebuild) never sees a half-written tree.
async function compileServices() {
  const staging = join(outRoot, `.services-${process.pid}`);
  await rm(staging, { recursive: true, force: true });
  const jobs = [];
  for await (const file of sources(join(root, 'services'))) {
    jobs.push(
      (async () => {
        const out = join(staging, relative(join(root, 'services'), file)).replace(/\.ts$/, '.js');
        // Schemas a module loads at run time (gRPC's .proto) sit beside the compiled module.
        if (file.endsWith('.proto')) {
          await mkdir(dirname(out), { recursive: true });
          await copyFile(file, out);
          return;
        }
        const result = await transformFile(file, { ...swcOptions, filename: file, sourceFileName: relative(dirname(out), file) });
        await mkdir(dirname(out), { recursive: true });
        await writeFile(out, `${result.code}\n//# sourceMappingURL=${out.split('/').pop()}.map\n`);
        if (result.map) await writeFile(`${out}.map`, result.map);
      })(),
    );
  }
  await Promise.all(jobs);
  const target = join(outRoot, 'services');
  const retired = join(outRoot, `.services-old-${process.pid}`);
  // Another build may swap its tree in between our two renames; then retire that one too.
  for (let attempt = 0; ; attempt += 1) {
    await rm(retired, { recursive: true, force: true });
    await rename(target, retired).catch((error) => {
      if (error.code !== 'ENOENT') throw error;
    });
    try {
      await rename(staging, target);
      break;
    } catch (error) {
      if (!['ENOTEMPTY', 'EEXIST'].includes(error.code) || attempt >= 10) throw error;
    }
  }
  await rm(retired, { recursive: true, force: true });
  return jobs.length;
}

const count = await compileServices();
console.log(
  `compiled ${count} files to ${relative(root, join(outRoot, 'services')) || outRoot}${options.sandbox ? ' (with the sandbox)' : ' (production: no sandbox)'}`,
);
const portal = join(root, 'services/portal');
if (options.portal && existsSync(join(portal, 'vite.config.ts'))) {
  const vite = spawnSync(
    process.execPath,
    [join(root, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn', '--outDir', join(outRoot, 'portal'), '--emptyOutDir'],
    { cwd: portal, stdio: 'inherit' },
  );
  if (vite.status !== 0) process.exit(vite.status ?? 1);
}
