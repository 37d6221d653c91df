import { useEffect, useId, useRef, type ReactNode } from 'react';

export function Spinner({ label }: { label?: string }) {
  return (
    <span
      className="spinner"
      role={label ? 'status' : undefined}
      aria-label={label}
      aria-hidden={label ? undefined : true}
    />
  );
}

/** An alert: errors interrupt (role=alert), other notices are polite (role=status). */
export function Notice({
  kind,
  children,
  action,
}: {
  kind: 'error' | 'success' | 'info';
  children: ReactNode;
  action?: ReactNode;
}) {
  return (
    <div className={`notice notice-${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      <div>{children}</div>
      {action ? <div className="notice-action">{action}</div> : null}
    </div>
  );
}

/** A load that failed: what could not be loaded and why, with "Try again". */
export function LoadFailed({ what, error, retry }: { what: string; error: string; retry: () => unknown }) {
  return (
    <Notice
      kind="error"
      action={
        <button type="button" onClick={() => void retry()}>
          Try again
        </button>
      }
    >
      {what} could not be loaded: {error}
    </Notice>
  );
}

/** Back and forward through a cursor-paged list, with the page number between. */
export function Pager({
  page,
  busy,
  hasNext,
  onBack,
  onNext,
  labels,
}: {
  page: number;
  busy: boolean;
  hasNext: boolean;
  onBack: () => void;
  onNext: () => void;
  labels: { back: string; next: string };
}) {
  return (
    <nav className="pager" aria-label="Pages">
      <button type="button" className="secondary" disabled={page <= 1 || busy} onClick={onBack}>
        ← {labels.back}
      </button>
      <span className="muted">Page {page}</span>
      <button type="button" className="secondary" disabled={!hasNext || busy} onClick={onNext}>
        {labels.next} →
      </button>
    </nav>
  );
}

/** The page's heading; it takes the focus when the page opens, so screen readers announce it. */
export function PageHeading({ children }: { children: ReactNode }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    ref.current?.focus({ preventScroll: true });
  }, []);
  return (
    <h1 ref={ref} tabIndex={-1}>
      {children}
    </h1>
  );
}

/** A labelled form field with an optional hint and an inline error. */
export function Field({
  label,
  hint,
  error,
  children,
}: {
  label: string;
  hint?: ReactNode;
  error?: string | null;
  children: (props: { id: string; 'aria-describedby'?: string; 'aria-invalid'?: boolean }) => ReactNode;
}) {
  const id = useId();
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const describedBy = [hint ? hintId : null, error ? errorId : null].filter(Boolean).join(' ') || undefined;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children({ id, 'aria-describedby': describedBy, 'aria-invalid': error ? true : undefined })}
      {hint ? (
        <div className="hint" id={hintId}>
          {hint}
        </div>
      ) : null}
      {error ? (
        <div className="field-error" id={errorId}>
          {error}
        </div>
      ) : null}
    </div>
  );
}
