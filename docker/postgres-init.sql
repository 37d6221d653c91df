-- The application's database; Temporal's auto-setup creates its own.
CREATE DATABASE discord_role_grants;
