import { onBeforeUnmount, onMounted, reactive, ref } from 'vue';
import { isCancelled, WorkerClient, type Progress } from './rpc.js';

/** A status line that says the shown result no longer matches the controls. */
export const STALE_STATUS = 'settings changed — press Run';

/**
 * What every demo shares: its Web Worker client, a status line, ready/running flags, the progress of the
 * current run and its cancellation. `load` runs once the component is mounted (the demo is ready when it
 * resolves); the worker is terminated on unmount. The worker is made by the caller so that Vite sees the
 * literal `new Worker(new URL(…, import.meta.url))` it bundles.
 */
export function useDemo<Q>(makeWorker: () => Worker, load: (client: WorkerClient<Q>) => Promise<void>) {
  const status = ref('loading the model…');
  const ready = ref(false);
  const running = ref(false);
  const progress = reactive<Progress>({ done: 0, total: 1 });
  let client: WorkerClient<Q> | undefined;
  /** The controller of the running job: aborting it cancels the call in the worker. */
  let controller: AbortController | undefined;

  /** Shows an error in the status line. */
  const fail = (e: unknown): void => {
    status.value = isCancelled(e) ? 'cancelled' : `error: ${(e as Error).message}`;
  };

  onMounted(async () => {
    client = new WorkerClient<Q>(makeWorker());
    try {
      await load(client);
      ready.value = true;
      status.value = 'ready';
    } catch (e) {
      fail(e);
    }
  });
  onBeforeUnmount(() => {
    controller?.abort();
    client?.terminate();
  });

  /**
   * Runs one attribution job unless one is running. The job gets the client, a progress callback and the
   * signal of this run; it must commit its result only when the signal has not fired (a cancelled job's
   * call rejects at once, so `await` then throws). `onError` runs when the job fails, to clear the picture.
   */
  async function attempt(
    job: (client: WorkerClient<Q>, onProgress: (p: Progress) => void, signal: AbortSignal) => Promise<void>,
    onError?: () => void,
  ): Promise<void> {
    if (!client || running.value) return;
    const c = new AbortController();
    controller = c;
    running.value = true;
    status.value = 'running…';
    Object.assign(progress, { done: 0, total: 1 });
    try {
      await job(client, (p) => {
        if (!c.signal.aborted) Object.assign(progress, p);
      }, c.signal);
      if (!c.signal.aborted) status.value = 'done';
    } catch (e) {
      if (!c.signal.aborted) {
        onError?.();
        fail(e);
      }
    } finally {
      if (controller === c) {
        controller = undefined;
        running.value = false;
      }
    }
  }

  /** Cancels the running job (the worker aborts its signal); the status line says `why`. */
  function cancel(why = 'cancelled'): void {
    if (!controller) return;
    controller.abort();
    controller = undefined;
    running.value = false;
    Object.assign(progress, { done: 0, total: 1 });
    status.value = why;
  }

  /**
   * The controls changed: a finished run's `done` (or error) no longer applies. `hasResult`: a result is still
   * shown (marked stale), so the status line asks for a new run.
   */
  function stale(hasResult = false): void {
    if (ready.value && !running.value) status.value = hasResult ? STALE_STATUS : 'ready';
  }

  return { status, ready, running, progress, attempt, cancel, stale, fail, client: (): WorkerClient<Q> | undefined => client };
}
