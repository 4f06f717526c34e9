// The declarations the published package points at (package.json publishConfig): ../dist/'s, plus protobufjs's
// global `Long` type, which onnx-proto's declarations (reached through `proto.onnx`) name without including
// it. Without it a consumer that type-checks declarations (skipLibCheck: false) and whose program has no
// @types/long (pnpm, or `types` set in tsconfig) fails with "Cannot find name 'Long'". The workspace builds
// against dist/ alone, where the library's code never depends on what `Long` is.
/// <reference types="long" />
export * from '../dist/index.js';
