import type { ReactNode } from 'react';

export interface PageStateProps {
  /** What is shown, for the messages: "Loading the runs…", "Could not load the runs: …". */
  what: string;
  loading?: boolean;
  /** Rendered as text (never as markup), after "Could not load the <what>:" unless `bare`. */
  error?: string | null;
  /** The message when there is nothing to show (falsy: not empty); says what to do next. */
  empty?: ReactNode;
  /** Offers a "Try again" button under the error. */
  onRetry?: () => void;
  /** The error is a whole sentence of its own (e.g. a bad link), not a failed load. */
  bare?: boolean;
  /** data-testid prefix of the blocks: `<testId>-error`, `-loading`, `-empty` (default "page"). */
  testId?: string;
  /** Shown when the data is there: neither loading, failed nor empty. */
  children?: ReactNode;
}

/**
 * The loading, empty and error states every page shows the same way: an error is an
 * alert (announced, with a keyboard-reachable retry), loading a polite status, and the
 * content only once none of these applies. Error wins over loading, loading over empty.
 */
export function PageState({ what, loading = false, error = null, empty, onRetry, bare = false, testId = 'page', children }: PageStateProps) {
  if (error) {
    return (
      <div className="error" role="alert" data-testid={`${testId}-error`}>
        {bare ? error : `Could not load the ${what}: ${error}`}
        {onRetry ? (
          <>
            {' '}
            <button type="button" className="button-link" onClick={onRetry} data-testid={`${testId}-retry`}>
              Try again
            </button>
          </>
        ) : null}
      </div>
    );
  }
  if (loading) {
    return (
      <p className="loading" role="status" data-testid={`${testId}-loading`}>
        Loading the {what}…
      </p>
    );
  }
  if (empty) {
    return (
      <p className="empty" data-testid={`${testId}-empty`}>
        {empty}
      </p>
    );
  }
  return <>{children ?? null}</>;
}

