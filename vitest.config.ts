import { defineConfig } from 'vitest/config';
import { ownProcessProjects } from './vitest.shared.js';

export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*', ...ownProcessProjects()],
    pool: 'forks',
  },
});
