/** Progress of a queued or running run; the fraction comes from the worker (0..1). */
export function ProgressBar({ fraction, message }: { fraction: number; message: string | null }) {
  const pct = Math.round(Math.min(1, Math.max(0, fraction)) * 100);
  return (
    <div className="progress" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct}>
      <div className="progress-track">
        <div className="progress-fill" style={{ width: `${pct}%` }} />
      </div>
      <span className="progress-label">
        {pct}%{message ? ` · ${message}` : ''}
      </span>
    </div>
  );
}
