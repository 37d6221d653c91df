/**
 * Runs the Discord sandbox alone: `npx tsx src/dev/sandbox/main.ts`.
 * Environment: SANDBOX_HOST, SANDBOX_PORT, DISCORD_CLIENT_ID, DISCORD_CLIENT_SECRET, DISCORD_BOT_TOKEN.
 */
import { loadConfigOrExit } from '../../config.js';
import { startSandbox } from './index.js';

const config = loadConfigOrExit();
const sandbox = await startSandbox({
  host: config.sandbox.host,
  port: config.sandbox.port,
  clientId: config.discord.clientId,
  clientSecret: config.discord.clientSecret,
  botToken: config.discord.botToken,
  seedDemoGuild: true,
});

process.stdout.write(
  `${JSON.stringify(
    {
      url: sandbox.url,
      DISCORD_API_BASE_URL: sandbox.apiBaseUrl,
      DISCORD_AUTHORIZE_URL: sandbox.authorizeUrl,
      DISCORD_CLIENT_ID: sandbox.clientId,
      DISCORD_CLIENT_SECRET: sandbox.clientSecret,
      DISCORD_BOT_TOKEN: sandbox.botToken,
      control: `${sandbox.url}/_sandbox/state`,
    },
    null,
    2,
  )}\n`,
);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void sandbox.close().then(() => process.exit(0));
  });
}
