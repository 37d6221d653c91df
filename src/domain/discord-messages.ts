// Sentences for organization admins that both activities and (deterministic) workflows use: pure code only.

export const MISSING_PERMISSIONS_MESSAGE =
  'The bot lacks permission to manage this role: give the bot Manage Roles and drag its role above Approved in Server Settings → Roles.';

export const MISSING_CREATE_INVITE_MESSAGE =
  'The bot cannot add applicants to the server: give it Create Instant Invite in Server Settings → Roles (or connect Discord again), then retry.';

export const MEMBER_PENDING_MESSAGE =
  'The applicant joined the server and is waiting for its rules screening: the role is confirmed once they accept the rules (checked automatically).';

/** The applicant's sign-in cannot add them to the server any more: they sign in again with `link`. */
export const reauthorizeMessage = (link: string) =>
  `The applicant's Discord authorization has expired or was revoked: ask them to sign in with Discord again at ${link} (their grant then runs again by itself).`;
