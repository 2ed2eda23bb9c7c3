import type { ReactNode } from 'react';

/** The loading and error states every page shows the same way. */
export function PageState({ loading, error, what }: { loading: boolean; error: string | null; what: string }) {
  if (error) {
    return (
      <div className="error" role="alert" data-testid="page-error">
        Could not load the {what}: {error}
      </div>
    );
  }
  if (loading) {
    return (
      <p className="loading" role="status" data-testid="page-loading">
        Loading the {what}…
      </p>
    );
  }
  return null;
}

/** A loaded list's empty state: its message in place of the list, or the list itself. */
export function EmptyOr({ empty, message, testId, children }: { empty: boolean; message: ReactNode; testId?: string; children: ReactNode }) {
  if (empty) {
    return (
      <p className="empty" data-testid={testId}>
        {message}
      </p>
    );
  }
  return <>{children}</>;
}
