/**
 * Writes dist/build-fingerprint.txt: the sha256 of the sources this build compiled (paths and contents), read by
 * the on-disk gradient-model cache (@attribution/onnx) as the builder's part of every cache key, so that a one-shot
 * call reads one small file instead of walking the package's ~160 built files.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const hash = createHash('sha256');
const walk = (dir) => {
  for (const name of fs.readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    if (fs.statSync(full).isDirectory()) walk(full);
    else hash.update(`${path.relative(pkg, full)}\n`).update(fs.readFileSync(full));
  }
};
walk(path.join(pkg, 'src'));
hash.update(fs.readFileSync(path.join(pkg, 'package.json')));
fs.writeFileSync(path.join(pkg, 'dist/build-fingerprint.txt'), `${hash.digest('hex')}\n`);
