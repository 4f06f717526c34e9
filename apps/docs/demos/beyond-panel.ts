import { reactive, ref, type Ref } from 'vue';
import { isCancelled, type Progress, type WorkerClient } from './rpc.js';

/**
 * One panel of a demo page whose panels share a worker (`useDemo` holds it): the panel's own status line,
 * running flag, progress and cancellation, as `useDemo` gives a single-panel demo. Runs of different panels
 * queue in the worker, which answers one request at a time.
 */
export function usePanel<Q>(client: () => WorkerClient<Q> | undefined) {
  const status = ref('press Run');
  const running = ref(false);
  const progress = reactive<Progress>({ done: 0, total: 1 });
  let controller: AbortController | undefined;

  /** Runs one job unless one of this panel is running; as `useDemo`'s `attempt`. */
  async function attempt(
    job: (client: WorkerClient<Q>, onProgress: (p: Progress) => void, signal: AbortSignal) => Promise<void>,
    onError?: () => void,
  ): Promise<void> {
    const c0 = client();
    if (!c0 || running.value) return;
    const c = new AbortController();
    controller = c;
    running.value = true;
    status.value = 'running…';
    Object.assign(progress, { done: 0, total: 1 });
    try {
      await job(c0, (p) => {
        if (!c.signal.aborted) Object.assign(progress, p);
      }, c.signal);
      if (!c.signal.aborted) status.value = 'done';
    } catch (e) {
      if (!c.signal.aborted) {
        onError?.();
        status.value = isCancelled(e) ? 'cancelled' : `error: ${(e as Error).message}`;
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

  /** The controls changed: `hasResult` — a result is still shown, marked stale — or it went. */
  function stale(hasResult: boolean, staleText: string): void {
    if (!running.value) status.value = hasResult ? staleText : 'press Run';
  }

  return { status, running: running as Ref<boolean>, progress, attempt, cancel, stale };
}
