import { useState, type FormEvent } from 'react';
import { api, ApiError, errorMessage } from '../api.js';
import { DiscordIdentity } from '../components/DiscordIdentity.js';
import { Field, Notice, PageHeading, Spinner } from '../components/ui.js';
import { isValidDiscordId } from '../../domain/discord-id.js';
import { useResource } from '../hooks.js';
import { APPLICANT_SIGN_IN_MESSAGES } from '../messages.js';
import { useLocation } from '../router.js';
import type { DiscordUser } from '../types.js';

interface ApplicantView {
  organization: { name: string; requireDiscordSignIn: boolean };
  discordUser: DiscordUser | null;
}

/** The sentence for a sign-in's `?error=`: only ours, never the parameter's own text (anyone can write a link). */
function signInMessage(code: string | null): string {
  return code && Object.hasOwn(APPLICANT_SIGN_IN_MESSAGES, code)
    ? APPLICANT_SIGN_IN_MESSAGES[code]!
    : 'The Discord sign-in did not work. Please try again.';
}

const signInHref = (slug: string, applicationId?: string) =>
  `/api/public/organizations/${encodeURIComponent(slug)}/discord/authorize${
    applicationId ? `?application=${encodeURIComponent(applicationId)}` : ''
  }`;

/** `/apply` without a form: a Discord sign-in came back with a state we could not read. */
export function ApplySignInProblem() {
  const { search } = useLocation();
  return (
    <main id="main" className="auth-page">
      <div className="card auth-card">
        <PageHeading>Discord sign-in</PageHeading>
        <Notice kind="error">{signInMessage(search.get('error') ?? 'invalid_state')}</Notice>
        <p>Go back to the application form you were filling in and sign in with Discord again.</p>
      </div>
    </main>
  );
}

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

/**
 * The public application form at `/apply/<organization slug>`. The applicant signs in with
 * Discord (required unless the organization allows a typed, unverified ID), so the role can only
 * reach the account that applied.
 */
export function ApplyPage({ slug }: { slug: string }) {
  const { search } = useLocation();
  const applicant = useResource(
    () => api<ApplicantView>(`/api/public/organizations/${encodeURIComponent(slug)}/applicant`),
    slug,
  );
  const reauthorize = search.get('reauthorize');
  const signInError = search.get('error');
  const [values, setValues] = useState({ name: '', email: '', discordUserId: '' });
  const [touched, setTouched] = useState<Record<string, boolean>>({});
  const [submitted, setSubmitted] = useState(false);
  const [busy, setBusy] = useState(false);
  const [serverError, setServerError] = useState<string | null>(null);
  const [done, setDone] = useState<{ id: string } | null>(null);

  const verified = applicant.data?.discordUser ?? null;
  const requireSignIn = applicant.data?.organization.requireDiscordSignIn ?? true;
  const errors = validateApplication(verified ? { ...values, discordUserId: '' } : values);
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
      const discordUserId = verified ? '' : values.discordUserId.trim();
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
          : err instanceof ApiError && err.code === 'discord_sign_in_required'
            ? 'Please sign in with Discord first.'
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
          {verified ? (
            <p>If it is approved, you will be added to the organization's Discord server with its role.</p>
          ) : values.discordUserId.trim() ? (
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

  if (reauthorize || search.get('reauthorized')) {
    return (
      <main id="main" className="auth-page">
        <div className="card auth-card">
          <PageHeading>Connect your Discord account again</PageHeading>
          {search.get('reauthorized') ? (
            <Notice kind="success">
              Thank you: your Discord account is connected again. You will be added to the server with your role in a
              moment.
            </Notice>
          ) : (
            <>
              {signInError ? <Notice kind="error">{signInMessage(signInError)}</Notice> : null}
              <p>
                Your application was approved, but your Discord sign-in expired before you could be added to the server.
                Sign in again with the account you applied with.
              </p>
              <a className="button-link discord" href={signInHref(slug, reauthorize!)}>
                Sign in with Discord again
              </a>
            </>
          )}
        </div>
      </main>
    );
  }

  return (
    <main id="main" className="auth-page">
      <form className="card auth-card" onSubmit={(e) => void submit(e)} noValidate>
        <PageHeading>Apply for membership{applicant.data ? ` — ${applicant.data.organization.name}` : ''}</PageHeading>
        {serverError ? <Notice kind="error">{serverError}</Notice> : null}
        {signInError ? <Notice kind="error">{signInMessage(signInError)}</Notice> : null}
        {applicant.error ? <Notice kind="error">{applicant.error}</Notice> : null}
        {verified ? (
          <div className="signed-in" data-testid="discord-account">
            <DiscordIdentity user={{ ...verified, verified: true }} showAge={false} />
            <p className="muted small">Signed in with Discord: if you are approved, the role goes to this account.</p>
          </div>
        ) : (
          <div className="sign-in">
            <a className="button-link discord" href={signInHref(slug)}>
              Sign in with Discord
            </a>
            <p className="muted small">
              {requireSignIn
                ? 'Signing in proves the Discord account is yours; if you are approved, you are added to the server with its role.'
                : 'Recommended: signing in proves the account is yours and adds you to the server on approval.'}
            </p>
          </div>
        )}
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
        {verified || requireSignIn ? null : (
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
        )}
        <button type="submit" disabled={busy || (requireSignIn && !verified)}>
          {busy ? <Spinner /> : null}
          {busy ? 'Submitting…' : 'Submit application'}
        </button>
      </form>
    </main>
  );
}
