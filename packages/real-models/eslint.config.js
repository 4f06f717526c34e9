import root from '../../eslint.config.js';

// The repository's rules, and this test-only package's loaders in src/ may use TensorFlow.js directly (its
// test/ folder already may): they load pretrained tfjs models for the tests.
export default [...root, { files: ['src/**'], rules: { 'no-restricted-imports': 'off' } }];
