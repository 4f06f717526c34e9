import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

/** A tensor stored in a fixture: shape, dtype and flat row-major data. */
export interface FixtureTensor {
  readonly shape: readonly number[];
  readonly dtype?: string;
  readonly data: readonly number[];
}

/** A named model input in a case. */
export interface FixtureInput extends FixtureTensor {
  readonly name: string;
}

/** One reference computation by Captum (see `fixtures/README` in the shared data). */
export interface ConformanceCase {
  readonly id: string;
  readonly model: string;
  readonly method: string;
  readonly inputs: readonly FixtureInput[];
  readonly target: number | readonly number[] | null;
  readonly baselines?: readonly (number | FixtureTensor)[];
  readonly featureMask?: readonly FixtureTensor[];
  readonly layer?: { readonly name: string; readonly onnx: string };
  readonly neuron?: readonly number[];
  readonly options: Readonly<Record<string, unknown>>;
  readonly expected: { readonly attributions: readonly FixtureTensor[]; readonly delta?: readonly number[] };
  readonly tolerance: { readonly atol: number; readonly rtol: number };
}

/** A node of a model's JSON graph (PyTorch layouts). */
export interface GraphNode {
  readonly op: string;
  readonly name: string;
  readonly inputs: readonly string[];
  readonly output: string;
  readonly [param: string]: unknown;
}

/** A model described as a small JSON graph, equivalent to its ONNX file. */
export interface ModelGraph {
  readonly name: string;
  readonly inputs: readonly { readonly name: string; readonly shape: readonly (number | null)[]; readonly dtype: string }[];
  readonly output: string;
  readonly nodes: readonly GraphNode[];
}

const fixtures = new URL('../fixtures/', import.meta.url);

/** Path of a file in the fixtures folder. */
export function fixturePath(relative: string): string {
  return fileURLToPath(new URL(relative, fixtures));
}

/** The case files in the fixtures folder: Captum's shared cases, then every `cases-*.json` made by `fixtures/captum/*.py`. */
export const CASE_FILES: readonly string[] = [
  'cases.json',
  ...fs
    .readdirSync(fileURLToPath(fixtures))
    .filter((name) => /^cases-.+\.json$/.test(name))
    .sort(),
];

/** Every conformance case (of the given case files, default all of them). */
export function loadCases(files: readonly string[] = CASE_FILES): ConformanceCase[] {
  return files.flatMap((name) => (JSON.parse(fs.readFileSync(fixturePath(name), 'utf8')) as { cases: ConformanceCase[] }).cases);
}

/** The JSON graph of a conformance model. */
export function loadGraph(model: string): ModelGraph {
  return JSON.parse(fs.readFileSync(fixturePath(`models/${model}.json`), 'utf8')) as ModelGraph;
}
