import { tfjsConformanceSuite } from './suite.js';

tfjsConformanceSuite('cpu');
