import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { OrtModule } from '@attribution/onnx';
import { generateGallery, root } from './gallery.js';

// Writes docs/images: run by `pnpm build` (this package's build step), so the docs show what the code draws.
const out = path.join(root, 'docs/images');
fs.mkdirSync(out, { recursive: true });
for (const file of await generateGallery(ort as unknown as OrtModule)) {
  fs.mkdirSync(path.dirname(path.join(out, file.name)), { recursive: true });
  fs.writeFileSync(path.join(out, file.name), file.bytes);
  console.log(`docs/images/${file.name} (${file.bytes.length} bytes)`);
}
