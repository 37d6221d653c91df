import type { Application } from '../../src/domain/application.js';
import type { Stack } from './stack.js';

/** `name=value` of a Set-Cookie line named `name` in a response, or undefined. */
export function cookieFrom(res: Response, name: string): string | undefined {
  const line = res.headers.getSetCookie().find((c) => c.startsWith(`${name}=`));
  const pair = line?.split(';')[0];
  return pair && pair !== `${name}=` ? pair : undefined;
}

/** The applicant's browser starting a sign-in: its login cookie, and the authorize URL's state and redirect_uri. */
export async function startSignIn(
  stack: Stack,
  slug: string,
  options: { application?: string } = {},
): Promise<{ loginCookie: string; state: string; redirectUri: string; authorize: URL }> {
  const query = options.application ? `?application=${options.application}` : '';
  const res = await fetch(`${stack.app.baseUrl}/api/public/organizations/${slug}/discord/authorize${query}`, {
    redirect: 'manual',
  });
  if (res.status !== 302) throw new Error(`authorize answered ${res.status}: ${await res.text()}`);
  const authorize = new URL(res.headers.get('location')!);
  return {
    loginCookie: cookieFrom(res, 'applicant_login')!,
    state: authorize.searchParams.get('state')!,
    redirectUri: authorize.searchParams.get('redirect_uri')!,
    authorize,
  };
}

/** Follows Discord's redirect back to the callback with `cookie`: where the API sends the browser, and its cookies. */
export async function followApplicantCallback(url: string, cookie?: string): Promise<{ location: URL; res: Response }> {
  const res = await fetch(url, { headers: cookie ? { cookie } : {}, redirect: 'manual' });
  if (res.status !== 302) throw new Error(`callback answered ${res.status}: ${await res.text()}`);
  return { location: new URL(res.headers.get('location')!), res };
}

/** The whole sign-in of sandbox user `userId` on the form of `slug`: the applicant session cookie. */
export async function signInApplicant(stack: Stack, slug: string, userId: string): Promise<string> {
  const start = await startSignIn(stack, slug);
  const callback = stack.sandbox.authorizeUser({ redirectUri: start.redirectUri, state: start.state, userId });
  const { location, res } = await followApplicantCallback(callback, start.loginCookie);
  if (location.searchParams.get('verified') !== '1') throw new Error(`sign-in failed: ${location}`);
  return cookieFrom(res, 'applicant_session')!;
}

/** POSTs the public form as the browser holding `cookie` (same origin, as the form would). */
export async function submitApplication(
  stack: Stack,
  slug: string,
  body: { applicant: { name: string; email: string }; custom_data?: Record<string, unknown> },
  cookie?: string,
): Promise<{ status: number; body: { id: string; status: string; error?: { code: string; message: string } } }> {
  const res = await fetch(`${stack.app.baseUrl}/api/public/organizations/${slug}/applications`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      origin: stack.app.config.publicBaseUrl,
      ...(cookie ? { cookie } : {}),
    },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as { id: string; status: string } };
}

export type { Application };
