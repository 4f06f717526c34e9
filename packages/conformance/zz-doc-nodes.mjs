import { Graph } from '../onnx-grad/dist/index.js';
import { readFileSync } from 'node:fs';
for (const f of ['fixtures/real/digits_cnn.onnx', 'fixtures/models/mlp.onnx', 'fixtures/models/text.onnx', 'fixtures/models/cnn.onnx']) {
  const g = new Graph(readFileSync(f));
  console.log(f, g.graph.node.map((n) => `${n.name}:${n.opType}(${n.input.join(',')})->${n.output.join(',')}`));
}
