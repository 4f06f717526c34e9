import os from 'node:os';
import { defineConfig } from 'vitest/config';
import { ownProcessProjects } from './vitest.shared.js';

export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*', ...ownProcessProjects()],
    pool: 'forks',
    // Vitest's default leaves a core idle (availableParallelism − 1 workers, so one on a 2-core CI machine);
    // most files wait on ONNX Runtime or Chromium, so two workers on two cores finish the suite about 20 % sooner.
    maxWorkers: Math.max(2, os.availableParallelism() - 1),
  },
});
