import { onBeforeUnmount, onMounted, reactive, ref } from 'vue';
import { WorkerClient, type Progress } from './rpc.js';

/**
 * What every demo shares: its Web Worker client, a status line, ready/running flags and the progress of the
 * current run. `load` runs once the component is mounted (the demo is ready when it resolves); the worker
 * is terminated on unmount. The worker is made by the caller so that Vite sees the literal
 * `new Worker(new URL(…, import.meta.url))` it bundles.
 */
export function useDemo<Q>(makeWorker: () => Worker, load: (client: WorkerClient<Q>) => Promise<void>) {
  const status = ref('loading the model…');
  const ready = ref(false);
  const running = ref(false);
  const progress = reactive<Progress>({ done: 0, total: 1 });
  let client: WorkerClient<Q> | undefined;

  /** Shows an error in the status line. */
  const fail = (e: unknown): void => {
    status.value = `error: ${(e as Error).message}`;
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
  onBeforeUnmount(() => client?.terminate());

  /** Runs one attribution job unless one is running; `onProgress` drives the progress bar. */
  async function attempt(job: (client: WorkerClient<Q>, onProgress: (p: Progress) => void) => Promise<void>): Promise<void> {
    if (!client || running.value) return;
    running.value = true;
    status.value = 'running…';
    Object.assign(progress, { done: 0, total: 1 });
    try {
      await job(client, (p) => Object.assign(progress, p));
      status.value = 'done';
    } catch (e) {
      fail(e);
    } finally {
      running.value = false;
    }
  }

  /** A finished run's `done` (or error) stays only while the choices that produced it do. */
  function stale(): void {
    if (ready.value && !running.value) status.value = 'ready';
  }

  return { status, ready, running, progress, attempt, stale, fail, client: (): WorkerClient<Q> | undefined => client };
}
