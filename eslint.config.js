// Lint for the whole tree: typescript-eslint strict + stylistic, type-aware through the TypeScript
// project service (services/portal/tsconfig.json for the portal, the root tsconfig.json elsewhere).
// Formatting is prettier's job (`npm run format`); nothing here is about layout.
import js from '@eslint/js';
import * as k8s from '@kubernetes/client-node';
import reactHooks from 'eslint-plugin-react-hooks';
import tseslint from 'typescript-eslint';

// Product code reports failures as DomainError, which carries a machine-readable code the HTTP edge
// maps to a status; a bare Error turns into an opaque 500. Where nothing can be done (a broken
// invariant, an impossible branch) disable it inline and say why.
const bareError = {
  selector: "ThrowStatement > NewExpression[callee.name='Error']",
  message:
    'Throw a DomainError (services/core/src/model/errors.ts: notFound, conflict, invalid, …) so callers get a stable code. ' +
    'A bare Error only where nothing can be done: `// eslint-disable-next-line no-restricted-syntax -- <why>`.',
};

// @kubernetes/client-node declares its API models (V1Pod, V1ObjectMeta, …) as classes, but they are
// plain JSON shapes with no behaviour: object literals and spread copies of them are how manifests
// are written, and the client serialises either the same way.
const kubeModels = Object.keys(k8s).filter((name) => /^V\d/.test(name) && typeof k8s[name] === 'function');

export default tseslint.config(
  {
    ignores: ['**/dist/**', '**/node_modules/**', '.cache/**', '.data/**', 'test-artifacts/**', 'coverage/**'],
  },
  js.configs.recommended,
  tseslint.configs.strictTypeChecked,
  tseslint.configs.stylisticTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: {
          // Config files no tsconfig includes; they still get type-aware rules.
          allowDefaultProject: ['vitest.real.config.ts', 'vitest.chaos.config.ts', 'services/portal/vite.config.ts'],
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // Template strings are how logs, events and messages are built; numbers and booleans in them are intended.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      // `_`-prefixed parameters and destructured leftovers are deliberate (interface conformance, omitting a key).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
      // Fires on every Kubernetes manifest literal (see kubeModels); the library never relies on the prototype.
      '@typescript-eslint/no-unsafe-class-instance-assignment': 'off',
      // Spreading a Kubernetes model is a data copy (see kubeModels); other class spreads stay errors.
      '@typescript-eslint/no-misused-spread': ['error', { allow: [{ from: 'package', package: '@kubernetes/client-node', name: kubeModels }] }],
      // `T[]` for simple element types, `Array<{ … }>` for object and union ones, as the code is written.
      '@typescript-eslint/array-type': ['error', { default: 'array-simple' }],
      // `() => resolve(x)` and `return next()` in void callbacks are idiomatic here; confusing uses elsewhere still fail.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true, ignoreVoidReturningFunctions: true }],
      // `async` is how an implementation meets a Promise-returning interface (drivers, dialects, fakes):
      // dropping it would turn a throw in the body into a synchronous exception the caller does not expect.
      '@typescript-eslint/require-await': 'off',
      // Its fix turns `x as T` into `x!`, which strict's no-non-null-assertion forbids: the two cannot both hold.
      '@typescript-eslint/non-nullable-type-assertion-style': 'off',
      // tsconfig has noUncheckedIndexedAccess off (turning it on is 570 type errors, a change of its own),
      // so this rule calls every guard on a Map/array/record lookup unnecessary; deleting those guards
      // would remove real runtime checks. Back on together with noUncheckedIndexedAccess.
      '@typescript-eslint/no-unnecessary-condition': 'off',
      // NestJS modules and providers are classes by design, often with only decorators or statics.
      '@typescript-eslint/no-extraneous-class': ['error', { allowWithDecorator: true }],
    },
  },
  {
    files: ['services/**/*.ts'],
    ignores: ['services/sandbox/**', 'services/portal/**'],
    rules: { 'no-restricted-syntax': ['error', bareError] },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // A test asserts the value exists right after; a wrong `!` fails the test with a TypeError, which is the point.
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['services/portal/**/*.{ts,tsx}'],
    plugins: { 'react-hooks': reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      // A warning would not fail `npm test`; a deliberately omitted dependency says so inline.
      'react-hooks/exhaustive-deps': 'error',
    },
  },
  {
    // Plain JavaScript (build scripts, this file, test fixtures) has no types to check against.
    files: ['**/*.{js,mjs,cjs}'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', setTimeout: 'readonly' } },
  },
);
