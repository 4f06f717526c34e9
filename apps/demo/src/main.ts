import * as tf from '@tensorflow/tfjs';
import { runSeedDemo, runSeedDemoOnnx } from './seed.js';

tf.enableProdMode(); // silences tfjs's "install tfjs-node" banner: the cpu backend is all this example needs
await tf.setBackend('cpu');
for (const line of await runSeedDemo()) console.log(line);
console.log('');
for (const line of await runSeedDemoOnnx()) console.log(line);
