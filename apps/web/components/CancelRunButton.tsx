'use client';
/**
 * Cancels a queued or running run (`cancelRun`). A queued run is canceled at once; a
 * running one only asks the worker, which stops at its next safe point, so the button
 * stays in "Canceling…" until the polled status turns.
 */
import { useState } from 'react';
import { gql } from '../client/graphql';
import { CANCEL_RUN, type RunStatus } from '../client/queries';

export function CancelRunButton({ runId, status, onCanceled }: { runId: string; status: RunStatus; onCanceled: () => Promise<void> }) {
  const [requested, setRequested] = useState(false);
  const [error, setError] = useState<string | null>(null);
  if (status !== 'queued' && status !== 'running') return null;

  async function cancel() {
    setRequested(true);
    setError(null);
    try {
      await gql<{ cancelRun: { id: string; status: RunStatus } }>(CANCEL_RUN, { id: runId });
      await onCanceled();
    } catch (e) {
      setRequested(false);
      setError((e as Error).message);
    }
  }

  return (
    <span className="cancel-run">
      <button type="button" className="button-danger" onClick={() => void cancel()} disabled={requested} data-testid="cancel-run">
        {requested ? 'Canceling…' : 'Cancel'}
      </button>
      {error ? (
        <span className="error" role="alert">
          {error}
        </span>
      ) : null}
    </span>
  );
}
