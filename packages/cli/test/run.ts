import { main, type Io } from '../src/index.js';

/** Runs the CLI in-process with `argv` and returns its exit code and what it wrote. */
export async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (t) => (out += t), err: (t) => (err += t) };
  const code = await main(argv, io);
  return { code, out, err };
}
