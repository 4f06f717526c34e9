import * as tf from '@tensorflow/tfjs';
import { runSeedDemo } from './seed.js';

tf.env().set('IS_NODE', false); // silences tfjs's "install tfjs-node" banner; the cpu backend is all we need
await tf.setBackend('cpu');
for (const line of await runSeedDemo()) console.log(line);
