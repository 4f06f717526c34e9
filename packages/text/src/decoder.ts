import { fromOnnx, HostTensor, type OnnxModel, type OrtModule } from '@attribution/onnx';
import type { ModelSource } from '@attribution/onnx';
import { ArgumentError, ShapeError, describeValue } from '@attribution/tensor';

/** A causal language model without cache: the logits of every position of one sequence of token ids. */
export interface CausalLM {
  /** Logits of `ids` (one sequence), row-major `[ids.length, vocabSize]`. */
  logits(ids: readonly number[]): Promise<{ readonly data: ArrayLike<number>; readonly vocabSize: number }>;
  /** Releases the model. */
  dispose?(): void;
}

/**
 * A decoder without cache in the transformers.js / Optimum layout (`input_ids`, `attention_mask` and optionally
 * `position_ids` → `logits`), run through `@attribution/onnx`'s {@link fromOnnx} (forward passes only).
 */
export class OnnxCausalLM implements CausalLM {
  private constructor(private readonly model: OnnxModel) {}

  static async load(ort: OrtModule, source: ModelSource): Promise<OnnxCausalLM> {
    const model = await fromOnnx(ort, source, { output: 'logits' });
    const names = model.inputNames;
    if (!names.includes('input_ids')) {
      model.dispose();
      throw new ArgumentError('model', 'a decoder with an input_ids input (and attention_mask, position_ids)', `inputs ${names.join(', ')}`);
    }
    const unknown = names.filter((n) => !['input_ids', 'attention_mask', 'position_ids'].includes(n));
    if (unknown.length) {
      model.dispose();
      throw new ArgumentError('model', 'a decoder without cache (inputs input_ids, attention_mask, position_ids)', `inputs ${unknown.join(', ')} as well`, 'Decoders with past_key_values are not supported yet: export one without cache (onnx/model.onnx).');
    }
    return new OnnxCausalLM(model);
  }

  async logits(ids: readonly number[]): Promise<{ data: ArrayLike<number>; vocabSize: number }> {
    const L = ids.length;
    if (L === 0) throw new ArgumentError('ids', 'at least one token id', 'none');
    const feed: Record<string, HostTensor> = {
      input_ids: new HostTensor(BigInt64Array.from(ids, (i) => BigInt(i)), [1, L], 'int64'),
      attention_mask: new HostTensor(new BigInt64Array(L).fill(1n), [1, L], 'int64'),
      position_ids: new HostTensor(BigInt64Array.from(ids, (_, i) => BigInt(i)), [1, L], 'int64'),
    };
    const inputs = this.model.inputNames.map((n) => feed[n] as HostTensor);
    const { output } = await this.model.forward({ inputs });
    const dims = output.dims;
    if (dims.length !== 3 || dims[0] !== 1 || dims[1] !== L) throw new ShapeError('logits', `[1, ${L}, vocab]`, describeValue(dims));
    return { data: output.data as ArrayLike<number>, vocabSize: dims[2] as number };
  }

  dispose(): void {
    this.model.dispose();
  }
}
