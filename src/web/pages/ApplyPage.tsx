import { useState, type FormEvent } from 'react';
import { api, ApiError, errorMessage } from '../api';
import { Field, Notice, PageHeading, Spinner } from '../components/ui';
import { isValidDiscordId } from '../../domain/discord-id';

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export interface ApplyErrors {
  name?: string;
  email?: string;
  discordUserId?: string;
}

/** The form's inline checks; the API checks the same again. */
export function validateApplication(values: { name: string; email: string; discordUserId: string }): ApplyErrors {
  const errors: ApplyErrors = {};
  if (!values.name.trim()) errors.name = 'Please enter your name.';
  if (!EMAIL.test(values.email.trim())) errors.email = 'Please enter an email address, like ada@example.com.';
  const id = values.discordUserId.trim();
  if (id && !isValidDiscordId(id)) {
    errors.discordUserId = /^\d+$/.test(id)
      ? 'A Discord user ID has 17 to 20 digits. Please copy it again.'
      : 'A Discord user ID is a number (17 to 20 digits), not your username.';
  }
  return errors;
}

/** The public application form at `/apply/<organization slug>`; no sign-in. */
export function ApplyPage({ slug }: { slug: string }) {
  const [values, setValues] = useState({ name: '', email: '', discordUserId: '' });
  const [touched, setTouched] = useState<Record<string, boolean>>({});
  const [submitted, setSubmitted] = useState(false);
  const [busy, setBusy] = useState(false);
  const [serverError, setServerError] = useState<string | null>(null);
  const [done, setDone] = useState<{ id: string } | null>(null);

  const errors = validateApplication(values);
  const show = (key: keyof ApplyErrors) => (touched[key] || submitted ? (errors[key] ?? null) : null);
  const change = (key: keyof typeof values) => (e: { target: { value: string } }) =>
    setValues((v) => ({ ...v, [key]: e.target.value }));
  const blur = (key: string) => () => setTouched((t) => ({ ...t, [key]: true }));

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    setSubmitted(true);
    setServerError(null);
    if (Object.keys(errors).length > 0) {
      const firstInvalid = event.currentTarget.querySelector<HTMLElement>('[aria-invalid="true"]');
      firstInvalid?.focus();
      return;
    }
    setBusy(true);
    try {
      const discordUserId = values.discordUserId.trim();
      const result = await api<{ id: string }>(`/api/public/organizations/${encodeURIComponent(slug)}/applications`, {
        method: 'POST',
        body: {
          applicant: { name: values.name.trim(), email: values.email.trim() },
          custom_data: discordUserId ? { discord_user_id: discordUserId } : {},
        },
      });
      setDone(result);
    } catch (err) {
      setServerError(
        err instanceof ApiError && err.status === 404
          ? 'This application form does not exist. Please check the link you were given.'
          : errorMessage(err),
      );
    } finally {
      setBusy(false);
    }
  };

  if (done) {
    return (
      <main id="main" className="auth-page">
        <div className="card auth-card">
          <PageHeading>Application received</PageHeading>
          <Notice kind="success">
            Thank you, {values.name.trim()}. Your application was submitted and will be reviewed soon.
          </Notice>
          {values.discordUserId.trim() ? (
            <p>
              If it is approved, you will get the role in the organization's Discord server — make sure you have joined
              it.
            </p>
          ) : null}
          <p className="muted small">Reference: {done.id}</p>
        </div>
      </main>
    );
  }

  return (
    <main id="main" className="auth-page">
      <form className="card auth-card" onSubmit={(e) => void submit(e)} noValidate>
        <PageHeading>Apply for membership</PageHeading>
        {serverError ? <Notice kind="error">{serverError}</Notice> : null}
        <Field label="Name" error={show('name')}>
          {(p) => (
            <input
              {...p}
              name="name"
              autoComplete="name"
              required
              value={values.name}
              onChange={change('name')}
              onBlur={blur('name')}
            />
          )}
        </Field>
        <Field label="Email" error={show('email')}>
          {(p) => (
            <input
              {...p}
              type="email"
              name="email"
              autoComplete="email"
              required
              value={values.email}
              onChange={change('email')}
              onBlur={blur('email')}
            />
          )}
        </Field>
        <Field
          label="Discord user ID (optional)"
          error={show('discordUserId')}
          hint={
            <>
              To copy it: in Discord open <strong>User Settings → Advanced</strong> and turn on{' '}
              <strong>Developer Mode</strong>, then right-click (or long-press) your name and choose{' '}
              <strong>Copy User ID</strong>. It is a number of 17 to 20 digits.
            </>
          }
        >
          {(p) => (
            <input
              {...p}
              name="discordUserId"
              inputMode="numeric"
              autoComplete="off"
              spellCheck={false}
              value={values.discordUserId}
              onChange={change('discordUserId')}
              onBlur={blur('discordUserId')}
            />
          )}
        </Field>
        <button type="submit" disabled={busy}>
          {busy ? <Spinner /> : null}
          {busy ? 'Submitting…' : 'Submit application'}
        </button>
      </form>
    </main>
  );
}
