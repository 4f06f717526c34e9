import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file is apps/tutorials/src or apps/tutorials/dist). */
export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** The models and samples the tutorials use, as committed in the repository. */
export const files = {
  digitsModel: path.join(root, 'packages/conformance/fixtures/real/digits_cnn.onnx'),
  digitsSamples: path.join(root, 'packages/conformance/fixtures/real/digits_cnn.samples.json'),
  sentimentModel: path.join(root, 'packages/cli/examples/sentiment/model.onnx'),
  sentimentVocab: path.join(root, 'packages/cli/examples/sentiment/vocab.json'),
  bertModel: path.join(root, 'packages/conformance/fixtures/real/tiny_bert.onnx'),
  cancerModel: path.join(root, 'packages/conformance/fixtures/real/breast_cancer.onnx'),
  cancerSamples: path.join(root, 'packages/conformance/fixtures/real/breast_cancer.samples.json'),
};

/** Where `node dist/<tutorial>.js` writes its pictures without an argument: the docs' public folder. */
export const docsOutDir = path.join(root, 'docs/public/tutorials');

export const readJson = <J>(file: string): J => JSON.parse(fs.readFileSync(file, 'utf8')) as J;

/** Whether the module with this `import.meta.url` is the script node was started with. */
export const isMain = (url: string): boolean => process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(url);

/** Rounds for printing and for the numbers `main` returns. */
export const round = (v: number, digits = 4): number => Number(v.toFixed(digits));
