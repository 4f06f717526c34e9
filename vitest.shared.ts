import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { UserWorkspaceConfig } from 'vitest/config';

const root = path.dirname(fileURLToPath(import.meta.url));

/** Maps every workspace package to its TypeScript source, so tests need no build. */
function sourceAliases(): Record<string, string> {
  const aliases: Record<string, string> = {};
  for (const dir of ['packages', 'apps']) {
    const base = path.join(root, dir);
    if (!fs.existsSync(base)) continue;
    for (const entry of fs.readdirSync(base)) {
      const pkgFile = path.join(base, entry, 'package.json');
      const src = path.join(base, entry, 'src', 'index.ts');
      if (!fs.existsSync(pkgFile) || !fs.existsSync(src)) continue;
      const { name } = JSON.parse(fs.readFileSync(pkgFile, 'utf8')) as { name: string };
      aliases[name] = src;
    }
  }
  return aliases;
}

/** The vitest project settings every package shares. */
export function sharedProjectConfig(name: string, extra: { testTimeout?: number } = {}): UserWorkspaceConfig {
  return {
    resolve: { alias: sourceAliases() },
    test: {
      name,
      include: ['test/**/*.test.ts'],
      environment: 'node',
      testTimeout: extra.testTimeout ?? 30_000,
    },
  };
}
