/**
 * A small request/reply protocol between a demo page and its Web Worker: the page posts a request with an
 * id, the worker answers with progress messages (the methods' `onProgress`) and one result or error. A call
 * takes an `AbortSignal`: aborting it posts a cancel message, and the worker aborts the `AbortController`
 * whose signal it passed to the attribution (every method takes `signal` and stops between batches).
 */

/** Progress of a running attribution, as the methods report it. */
export interface Progress {
  readonly done: number;
  readonly total: number;
}

/** What the page posts: a request, or the cancellation of one. */
type Envelope<Q> = { readonly id: number; readonly request: Q } | { readonly id: number; readonly cancel: true };

/** What the worker posts back. */
export type Reply<R> =
  | { readonly id: number; readonly kind: 'progress'; readonly progress: Progress }
  | { readonly id: number; readonly kind: 'result'; readonly result: R }
  | { readonly id: number; readonly kind: 'error'; readonly message: string; readonly aborted?: boolean };

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  onProgress?: ((p: Progress) => void) | undefined;
}

/** The error of a cancelled call (`name` is `'AbortError'`, as `fetch` and the library's `AbortError` have it). */
export class CancelledError extends Error {
  override readonly name = 'AbortError';
  constructor(message = 'cancelled') {
    super(message);
  }
}

/** Whether `e` is the error of a cancelled call (here or in the worker). */
export const isCancelled = (e: unknown): boolean => e instanceof Error && e.name === 'AbortError';

/** Options of {@link WorkerClient.call}. */
export interface CallOptions {
  readonly onProgress?: ((p: Progress) => void) | undefined;
  /** Aborting it cancels the call: the worker aborts the attribution, and the call rejects with a {@link CancelledError} at once. */
  readonly signal?: AbortSignal | undefined;
}

/** The page's side: `await client.call(request, { onProgress, signal })`. */
export class WorkerClient<Q> {
  private next = 0;
  private readonly pending = new Map<number, Pending>();

  constructor(private readonly worker: Worker) {
    worker.onmessage = (event: MessageEvent<Reply<unknown>>) => {
      const reply = event.data;
      const pending = this.pending.get(reply.id);
      if (!pending) return; // a cancelled call's late reply
      if (reply.kind === 'progress') {
        pending.onProgress?.(reply.progress);
      } else {
        this.pending.delete(reply.id);
        if (reply.kind === 'result') pending.resolve(reply.result);
        else pending.reject(reply.aborted ? new CancelledError() : new Error(reply.message));
      }
    };
    // A worker that fails to load or throws outside a request fails everything in flight.
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      this.failAll(new Error(event.message || 'the worker failed to start'));
    };
  }

  /** Sends a request; resolves with the worker's result, rejects with its error message (or a {@link CancelledError}). */
  call<R>(request: Q, options: CallOptions = {}): Promise<R> {
    const { onProgress, signal } = options;
    if (signal?.aborted) return Promise.reject(new CancelledError());
    const id = ++this.next;
    return new Promise<R>((resolve, reject) => {
      const onAbort = (): void => {
        if (!this.pending.delete(id)) return;
        this.worker.postMessage({ id, cancel: true } satisfies Envelope<Q>);
        reject(new CancelledError());
      };
      const settle = <V>(f: (v: V) => void) => (v: V): void => {
        signal?.removeEventListener('abort', onAbort);
        f(v);
      };
      this.pending.set(id, { resolve: settle(resolve as (value: unknown) => void), reject: settle(reject), onProgress });
      signal?.addEventListener('abort', onAbort, { once: true });
      this.worker.postMessage({ id, request } satisfies Envelope<Q>);
    });
  }

  /** Stops the worker; pending calls reject. */
  terminate(): void {
    this.worker.terminate();
    this.failAll(new Error('the worker was stopped'));
  }

  private failAll(error: Error): void {
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.reject(error);
  }
}

/** What a worker's handler returns: the result, and buffers to transfer instead of copying. */
export interface Handled<R> {
  readonly result: R;
  readonly transfer?: Transferable[];
}

/**
 * The worker's side: handles one request at a time (in arrival order), forwarding progress (throttled), and aborts the
 * signal it passes to the handler when the page cancels the request (a request cancelled while it waits in
 * the queue is not started). Call once at the top level of the worker module.
 */
export function serve<Q, R>(handler: (request: Q, progress: (p: Progress) => void, signal: AbortSignal) => Promise<Handled<R>>): void {
  const scope = globalThis as unknown as DedicatedWorkerGlobalScope;
  const controllers = new Map<number, AbortController>();
  let queue: Promise<void> = Promise.resolve();
  scope.onmessage = (event: MessageEvent<Envelope<Q>>) => {
    const message = event.data;
    if ('cancel' in message) {
      controllers.get(message.id)?.abort(new CancelledError());
      return;
    }
    const { id, request } = message;
    const controller = new AbortController();
    controllers.set(id, controller);
    queue = queue.then(async () => {
      const post = (reply: Reply<R>, transfer: Transferable[] = []): void => scope.postMessage(reply, transfer);
      // Progress at most every 50 ms (and the last step): some methods report thousands of model calls.
      let last = 0;
      const progress = (p: Progress): void => {
        const now = performance.now();
        if (p.done < p.total && now - last < 50) return;
        last = now;
        post({ id, kind: 'progress', progress: { done: p.done, total: p.total } });
      };
      try {
        if (controller.signal.aborted) throw new CancelledError();
        const { result, transfer } = await handler(request, progress, controller.signal);
        post({ id, kind: 'result', result }, transfer);
      } catch (e) {
        const aborted = controller.signal.aborted || isCancelled(e);
        post({ id, kind: 'error', message: e instanceof Error ? e.message : String(e), aborted });
      } finally {
        controllers.delete(id);
      }
    });
  };
}

const waiting: (() => void)[] = [];
// Created on first use, in the worker: a channel made at import time would keep Node's event loop (the docs
// build's server-side rendering imports this module) alive after the build.
let channel: MessageChannel | undefined;
function yieldChannel(): MessageChannel | undefined {
  if (!channel && typeof MessageChannel !== 'undefined') {
    channel = new MessageChannel();
    channel.port1.onmessage = () => waiting.shift()?.();
  }
  return channel;
}
let lastYield = 0;

/**
 * Lets the worker's event loop run (a macrotask, without setTimeout's 4 ms clamp) when more than 10 ms passed
 * since the last time: model calls that resolve with microtasks alone (ONNX Runtime's single-threaded wasm)
 * would otherwise never let a cancel message in before the attribution ends.
 */
export async function letMessagesIn(): Promise<void> {
  const now = performance.now();
  if (now - lastYield < 10) return;
  lastYield = now;
  await new Promise<void>((resolve) => {
    const c = yieldChannel();
    if (!c) return void setTimeout(resolve, 0);
    waiting.push(resolve);
    c.port2.postMessage(null);
  });
  lastYield = performance.now();
}

/**
 * `target` whose async methods `names` first {@link letMessagesIn}: wrap a model (`forward`, `gradient`) or a
 * language model (`logits`, `step`) so that a cancel message reaches the worker between model calls, where
 * the attribution checks its signal. Other members are the target's own.
 */
export function yielding<T extends object>(target: T, names: readonly string[]): T {
  const wrapped = new Map<PropertyKey, unknown>();
  return new Proxy(target, {
    get(t, key) {
      const value: unknown = Reflect.get(t, key, t);
      if (typeof value !== 'function') return value;
      if (!wrapped.has(key)) {
        const fn = value as (...args: unknown[]) => unknown;
        wrapped.set(
          key,
          names.includes(String(key))
            ? async (...args: unknown[]) => {
                await letMessagesIn();
                return fn.apply(t, args);
              }
            : fn.bind(t),
        );
      }
      return wrapped.get(key);
    },
  });
}
