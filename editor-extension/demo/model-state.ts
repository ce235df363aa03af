import { useEffect, useState } from 'react';
import type { ModelState, NibClient } from '../src/index';

export interface ModelStatus {
  state: ModelState | 'unknown';
  label: string;
}

/** The daemon's model state for the status line: work-done progress while
 * it loads, and nib/stats polled until it is ready or has failed (progress
 * may have ended before the page connected). */
export function useModelState(client: NibClient): ModelStatus {
  const [status, setStatus] = useState<ModelStatus>({ state: 'unknown', label: 'connecting…' });
  useEffect(() => {
    let done = false;
    const progress = client.onWorkDoneProgress((_token, value) => {
      if (done) return;
      if (value.kind === 'begin') setStatus({ state: 'loading', label: `${value.title}…` });
      else if (value.kind === 'report') setStatus({ state: 'loading', label: `loading ${value.percentage ?? ''}% ${value.message ?? ''}`.trim() });
    });
    const poll = async () => {
      while (!done) {
        try {
          const stats = await client.stats();
          if (done) return;
          if (stats.model.state === 'ready') {
            setStatus({ state: 'ready', label: `${stats.model.name} ready on ${stats.gpu.adapter}` });
            return;
          }
          if (stats.model.state === 'failed') {
            setStatus({ state: 'failed', label: `failed: ${stats.model.error ?? 'unknown error'}` });
            return;
          }
          setStatus((current) => (current.state === 'loading' ? current : { state: stats.model.state, label: stats.model.state }));
        } catch (err) {
          if (done) return;
          setStatus({ state: 'unknown', label: `no answer: ${String(err)}` });
        }
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    };
    // A lost connection says nothing of the model any more.
    const closed = client.onClose(() => {
      done = true;
      setStatus({ state: 'unknown', label: 'not connected' });
    });
    void poll();
    return () => {
      done = true;
      progress.dispose();
      closed.dispose();
    };
  }, [client]);
  return status;
}
