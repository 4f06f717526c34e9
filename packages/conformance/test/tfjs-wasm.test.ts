import { tfjsConformanceSuite } from './suite.js';

tfjsConformanceSuite('wasm');
