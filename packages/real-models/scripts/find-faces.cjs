// Runs face-api's own SSD MobileNetV1 face detector (and its age/gender and expression nets) on the sample
// photos that ship in @vladmandic/face-api/demo, offline, on tfjs-wasm. The face boxes hard-coded in
// src/images.ts were printed by this script: `node scripts/find-faces.cjs` (from packages/real-models).
const fs = require('node:fs');
const path = require('node:path');
const jpeg = require('jpeg-js');
const tf = require('@tensorflow/tfjs');
require('@tensorflow/tfjs-backend-wasm');
const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');

async function main() {
  await tf.setBackend('wasm');
  await tf.ready();
  const root = path.dirname(require.resolve('@vladmandic/face-api/package.json'));
  const models = path.join(root, 'model');
  await faceapi.nets.ssdMobilenetv1.loadFromDisk(models);
  await faceapi.nets.faceExpressionNet.loadFromDisk(models);
  await faceapi.nets.ageGenderNet.loadFromDisk(models);
  for (const name of fs.readdirSync(path.join(root, 'demo')).filter((f) => f.endsWith('.jpg')).sort()) {
    const img = jpeg.decode(fs.readFileSync(path.join(root, 'demo', name)), { useTArray: true, formatAsRGBA: false });
    const t = tf.tensor3d(img.data, [img.height, img.width, 3], 'int32');
    const found = await faceapi
      .detectAllFaces(t, new faceapi.SsdMobilenetv1Options({ minConfidence: 0.5, maxResults: 20 }))
      .withFaceExpressions()
      .withAgeAndGender();
    t.dispose();
    console.log(`${name} ${img.width}x${img.height}: ${found.length} face(s)`);
    for (const f of found) {
      const b = f.detection.box;
      const top = Object.entries(f.expressions).sort((a, b) => b[1] - a[1])[0];
      console.log(
        `  box x=${Math.round(b.x)} y=${Math.round(b.y)} w=${Math.round(b.width)} h=${Math.round(b.height)} score=${f.detection.score.toFixed(3)}` +
          ` expression=${top[0]} ${top[1].toFixed(3)} age=${f.age.toFixed(1)} gender=${f.gender} ${f.genderProbability.toFixed(3)}`,
      );
    }
  }
}

main();
