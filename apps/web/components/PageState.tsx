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
