import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Path of a fixture shared with the conformance package (the repository's copy of the reference data). */
export function fixture(relative: string): string {
  return fileURLToPath(new URL(`../../conformance/fixtures/${relative}`, import.meta.url));
}

/** A JSON fixture. */
export function json<T>(relative: string): T {
  return JSON.parse(fs.readFileSync(fixture(relative), 'utf8')) as T;
}
