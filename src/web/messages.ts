/** What the Discord bot callback's redirect parameters mean, in plain words. */
export type CallbackNotice = { kind: 'success' | 'info' | 'error'; message: string };

export const CALLBACK_ERROR_MESSAGES: Record<string, string> = {
  invalid_state:
    'The connection link expired or was already used. Please click "Connect Discord Bot" again (links last 5 minutes).',
  unauthorized: 'Your session ended before Discord sent you back. Please sign in and connect again.',
  forbidden: 'Only an admin of this organization can connect its Discord server.',
  user_not_found: 'Your account no longer exists. Please sign in again.',
  access_denied: 'The bot was not added: the authorization was cancelled in Discord.',
  connection_in_progress: 'Another connection attempt is already in progress. Please wait.',
  already_connected: 'A Discord server is already connected. Disconnect it first to connect another one.',
  token_exchange_failed:
    'Discord did not confirm the authorization (the code was refused or expired). Please try again.',
  missing_permissions:
    'The bot was added without the "Manage Roles" permission. Connect again and keep that permission ticked.',
  unsafe_role:
    'The existing "Approved" role carries permissions (or is managed by an integration), so it cannot be handed to every approved applicant. Remove its permissions in Server Settings → Roles (Settings shows which), then connect again.',
  role_creation_failed:
    'The bot could not create or find the "Approved" role. Check that the bot may manage roles, then try again.',
  save_config_failed: 'The connection worked but could not be saved. Please try again.',
  unexpected_error: 'Something unexpected went wrong while connecting. Please try again.',
  too_many_attempts: 'Too many failed connection attempts. Wait a few minutes and try again.',
  temporarily_unavailable:
    'The service was briefly unavailable and nothing was connected. Please connect again in a minute.',
};

/** What the applicant sign-in's redirect parameters (`/apply/<slug>?error=`) mean, in plain words. */
export const APPLICANT_SIGN_IN_MESSAGES: Record<string, string> = {
  invalid_state:
    'The Discord sign-in link expired, was already used, or was started in another browser. Please sign in again.',
  access_denied: 'You cancelled the Discord sign-in. Sign in with Discord to apply.',
  token_exchange_failed: 'Discord did not confirm the sign-in. Please try again.',
  too_many_attempts: 'Too many failed sign-in attempts from here. Wait a few minutes and try again.',
  wrong_account:
    'That is not the Discord account this application was made with. Sign in with the account you applied with.',
  temporarily_unavailable: 'The service was briefly unavailable. Please sign in with Discord again in a minute.',
  unexpected_error: 'Something unexpected went wrong with the Discord sign-in. Please try again.',
};

/** The notice for the `success`, `status` and `error` parameters of the callback redirect, if any. */
export function callbackNotice(params: URLSearchParams): CallbackNotice | null {
  const error = params.get('error');
  if (error) {
    return {
      kind: 'error',
      message: CALLBACK_ERROR_MESSAGES[error] ?? `The connection failed (${error}). Please try again.`,
    };
  }
  if (params.get('success') === 'bot_connected') {
    return { kind: 'success', message: 'The Discord bot is connected.' };
  }
  if (params.get('status') === 'connecting') {
    return { kind: 'info', message: 'Discord accepted the bot. The connection is still being set up…' };
  }
  return null;
}
