import { ArgumentError, BackendError, describeValue } from '@attribution/tensor';
import { nodeFs } from '#node-fs';
import { Concept, conceptsKey } from './concept.js';

/** What a CAV keeps about its classifier: the weights (classes × features), the classes, and statistics. */
export interface CAVStats {
  /** One weight row per class, in the order of `classes`: the concept activation vectors. */
  readonly weights: number[][];
  /** The classes (concept ids), in the order of the rows of `weights`. */
  readonly classes: number[];
  /** The classifier's accuracy on its held-out split, when it reports one. */
  readonly accs?: number;
  readonly [name: string]: unknown;
}

/**
 * Concept activation vectors (Captum's `CAV`): the weights of a linear classifier that separates the layer
 * activations of a set of concepts, one vector per concept.
 */
export class CAV {
  constructor(
    readonly concepts: readonly Concept<unknown>[],
    readonly layer: string,
    readonly stats: CAVStats,
    readonly modelId = 'default_model_id',
  ) {}

  /**
   * The file of a CAV: `<folder>/<modelId>/<concept ids joined by '-'>-<layer>.json` (Captum's `.pkl` naming);
   * the layer name is percent-encoded (`encodeURIComponent`), since ONNX tensor names contain '/'.
   */
  static assembleSavePath(folder: string, modelId: string, concepts: readonly Concept<unknown>[], layer: string): string {
    const base = folder.endsWith('/') ? folder.slice(0, -1) : folder;
    return `${base}/${modelId}/${conceptsKey(concepts)}-${encodeURIComponent(layer)}.json`;
  }

  /** Saves this CAV as JSON under `folder` (Node only); returns the file written. */
  async save(folder: string): Promise<string> {
    const fs = nodeFs;
    if (!fs) throw new BackendError('CAV.save writes files and needs Node.');
    if (typeof folder !== 'string' || folder.length === 0) throw new ArgumentError('folder', 'a folder path', describeValue(folder));
    const file = CAV.assembleSavePath(folder, this.modelId, this.concepts, this.layer);
    const record = {
      conceptIds: this.concepts.map((c) => c.id),
      conceptNames: this.concepts.map((c) => c.name),
      layer: this.layer,
      modelId: this.modelId,
      stats: this.stats,
    };
    await fs.writeText(file, `${JSON.stringify(record)}\n`);
    return file;
  }

  /**
   * Loads the CAV of `concepts` at `layer` saved under `folder` for `modelId`, or undefined when there is none
   * (Captum's `CAV.load`). The loaded concepts carry ids and names, not examples.
   */
  static async load(folder: string, modelId: string, concepts: readonly Concept<unknown>[], layer: string): Promise<CAV | undefined> {
    const fs = nodeFs;
    if (!fs) throw new BackendError('CAV.load reads files and needs Node.');
    if (typeof folder !== 'string' || folder.length === 0) throw new ArgumentError('folder', 'a folder path', describeValue(folder));
    const file = CAV.assembleSavePath(folder, modelId, concepts, layer);
    if (!(await fs.exists(file))) return undefined;
    let record: { conceptIds?: unknown; conceptNames?: unknown; layer?: unknown; stats?: Partial<CAVStats> };
    try {
      record = JSON.parse(await fs.readText(file)) as typeof record;
    } catch (cause) {
      throw new ArgumentError(file, 'a CAV file written by CAV.save', 'unreadable JSON', cause instanceof Error ? cause.message : undefined);
    }
    const ids = record.conceptIds;
    const names = record.conceptNames;
    const stats = record.stats;
    if (!Array.isArray(ids) || !Array.isArray(names) || ids.length !== names.length || !stats || !Array.isArray(stats.weights) || !Array.isArray(stats.classes)) {
      throw new ArgumentError(file, 'a CAV file with conceptIds, conceptNames and stats.weights/classes', describeValue(record));
    }
    const loaded = ids.map((id, i) => new Concept(id as number, names[i] as string));
    return new CAV(loaded, typeof record.layer === 'string' ? record.layer : layer, stats as CAVStats, modelId);
  }
}
