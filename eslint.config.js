import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/fixtures/**', '**/.vitepress/cache/**', '**/coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@tensorflow/*', 'onnxruntime-*'], message: 'Algorithms speak only @attribution/tensor.' },
          ],
        },
      ],
    },
  },
  {
    // Adapters, tests, the conformance harness, apps and benchmarks may use the frameworks directly.
    files: ['packages/tfjs/**', 'packages/onnx/**', 'packages/conformance/**', 'packages/testing/**', 'apps/**', 'bench/**', '**/test/**'],
    rules: { 'no-restricted-imports': 'off' },
  },
);
