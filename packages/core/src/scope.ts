import type { Backend } from '@attribution/tensor';

/**
 * Owns the tensors an attribution call creates, so that every exit path — success, a thrown error or an
 * abort — frees them. Results handed back to the caller are {@link Scope.release}d first.
 */
export class Scope<T> {
  private readonly owned = new Set<T>();

  constructor(readonly backend: Backend<T>) {}

  /** Takes ownership of tensors and returns them unchanged. */
  track<U extends T | readonly T[]>(value: U): U {
    if (Array.isArray(value)) for (const t of value as readonly T[]) this.owned.add(t);
    else this.owned.add(value as T);
    return value;
  }

  /** Frees owned tensors now. */
  free(value: T | readonly T[] | undefined): void {
    if (value === undefined) return;
    const list = Array.isArray(value) ? (value as readonly T[]) : [value as T];
    for (const t of list) {
      if (this.owned.delete(t)) this.backend.dispose(t);
    }
  }

  /** Gives up ownership (the tensors outlive the scope) and returns them unchanged. */
  release<U extends T | readonly T[]>(value: U): U {
    if (Array.isArray(value)) for (const t of value as readonly T[]) this.owned.delete(t);
    else this.owned.delete(value as T);
    return value;
  }

  /** Frees everything still owned. */
  dispose(): void {
    for (const t of this.owned) this.backend.dispose(t);
    this.owned.clear();
  }
}

/** Runs `fn` with a fresh {@link Scope} and frees what it still owns when `fn` settles. */
export async function withScope<T, R>(backend: Backend<T>, fn: (scope: Scope<T>) => Promise<R>): Promise<R> {
  const scope = new Scope(backend);
  try {
    return await fn(scope);
  } finally {
    scope.dispose();
  }
}
