// Selected outside Node by the `#node-fs` import (package.json `imports`): no file system, so CAVs stay in
// memory and concept examples are given as tensors.

/** File access for CAV folders and `.npy` concept folders; undefined outside Node. */
export const nodeFs:
  | {
      readonly readBytes: (file: string) => Promise<Uint8Array>;
      readonly readText: (file: string) => Promise<string>;
      readonly writeText: (file: string, text: string) => Promise<void>;
      readonly list: (folder: string) => Promise<string[]>;
      readonly exists: (file: string) => Promise<boolean>;
    }
  | undefined = undefined;
