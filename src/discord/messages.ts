// Sentences for organization admins that both activities and (deterministic) workflows use: pure code only.

export const MISSING_PERMISSIONS_MESSAGE =
  'The bot lacks permission to manage this role: give the bot Manage Roles and drag its role above Approved in Server Settings → Roles.';
