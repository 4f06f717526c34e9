/**
 * A small request/reply protocol between a demo page and its Web Worker: the page posts a request with an
 * id, the worker answers with progress messages (the methods' `onProgress`) and one result or error.
 */

/** Progress of a running attribution, as the methods report it. */
export interface Progress {
  readonly done: number;
  readonly total: number;
}

interface Envelope<Q> {
  readonly id: number;
  readonly request: Q;
}

/** What the worker posts back. */
export type Reply<R> =
  | { readonly id: number; readonly kind: 'progress'; readonly progress: Progress }
  | { readonly id: number; readonly kind: 'result'; readonly result: R }
  | { readonly id: number; readonly kind: 'error'; readonly message: string };

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  onProgress?: ((p: Progress) => void) | undefined;
}

/** The page's side: `await client.call(request, onProgress)`. */
export class WorkerClient<Q> {
  private next = 0;
  private readonly pending = new Map<number, Pending>();

  constructor(private readonly worker: Worker) {
    worker.onmessage = (event: MessageEvent<Reply<unknown>>) => {
      const reply = event.data;
      const pending = this.pending.get(reply.id);
      if (!pending) return;
      if (reply.kind === 'progress') {
        pending.onProgress?.(reply.progress);
      } else {
        this.pending.delete(reply.id);
        if (reply.kind === 'result') pending.resolve(reply.result);
        else pending.reject(new Error(reply.message));
      }
    };
    // A worker that fails to load or throws outside a request fails everything in flight.
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      this.failAll(new Error(event.message || 'the worker failed to start'));
    };
  }

  /** Sends a request; resolves with the worker's result, rejects with its error message. */
  call<R>(request: Q, onProgress?: (p: Progress) => void): Promise<R> {
    const id = ++this.next;
    return new Promise<R>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject, onProgress });
      this.worker.postMessage({ id, request } satisfies Envelope<Q>);
    });
  }

  /** Stops the worker; pending calls reject. */
  terminate(): void {
    this.worker.terminate();
    this.failAll(new Error('the worker was stopped'));
  }

  private failAll(error: Error): void {
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }
}

/** What a worker's handler returns: the result, and buffers to transfer instead of copying. */
export interface Handled<R> {
  readonly result: R;
  readonly transfer?: Transferable[];
}

/**
 * The worker's side: handles one request at a time (in arrival order), forwarding progress.
 * Call once at the top level of the worker module.
 */
export function serve<Q, R>(handler: (request: Q, progress: (p: Progress) => void) => Promise<Handled<R>>): void {
  const scope = globalThis as unknown as DedicatedWorkerGlobalScope;
  let queue: Promise<void> = Promise.resolve();
  scope.onmessage = (event: MessageEvent<Envelope<Q>>) => {
    const { id, request } = event.data;
    queue = queue.then(async () => {
      const post = (reply: Reply<R>, transfer: Transferable[] = []): void => scope.postMessage(reply, transfer);
      try {
        const { result, transfer } = await handler(request, (progress) => post({ id, kind: 'progress', progress: { done: progress.done, total: progress.total } }));
        post({ id, kind: 'result', result }, transfer);
      } catch (e) {
        post({ id, kind: 'error', message: e instanceof Error ? e.message : String(e) });
      }
    });
  };
}
