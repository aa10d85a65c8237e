// Type-aware lint, run by `npm test` (pretest) and `npm run lint`.
// The rules that matter most here are about promises: a floating or
// misused promise is a crash (unhandled rejection) or work that silently
// never happens, and `no-await-in-optional-call` catches the case that
// once kept ack-less clients out of presence.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import noAwaitInOptionalCall from './tools/eslint-rules/no-await-in-optional-call.js';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '.tmp/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        // Sources through their packages' configs, tests through tsconfig.test.json.
        project: [
          './tsconfig.test.json',
          './apps/*/tsconfig.json',
          './packages/*/tsconfig.json',
          './packages/client/tsconfig.node.json',
          './bench/tsconfig.json',
        ],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    plugins: { realtime: { rules: { 'no-await-in-optional-call': noAwaitInOptionalCall } } },
    rules: {
      'realtime/no-await-in-optional-call': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Tests read parsed JSON, YAML and logs, and use vitest's asymmetric
    // matchers (typed any); the unsafe-any rules guard module boundaries in
    // sources, not assertions.
    files: ['**/test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // CI's Node scripts (.ci/*.mjs).
    files: ['**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
