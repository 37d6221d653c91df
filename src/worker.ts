import { Client } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { buildId } from './build-info';
import { requestRoleRedrive } from './temporal/operations';
import type { Config } from './config';
import type { DiscordApi } from './discord/api';
import type { Pool } from './db/pool';
import type { Logger } from './logger';

export interface WorkerDeps {
  config: Config;
  pool: Pool;
  logger: Logger;
  discord: DiscordApi;
  connection: NativeConnection;
  /** A prebuilt bundle of `workflows/` (see src/temporal/workflow-bundle.ts). */
  workflowBundlePath: string;
}

export interface Workers {
  /** Resolves once both workers have stopped. */
  run: () => Promise<void>;
  /** Stops polling, lets running activities finish, then stops. */
  shutdown: () => void;
}

/**
 * Two workers in one process: workflows and their Postgres (local) activities on the main task
 * queue, and Discord calls on a queue of their own whose rate limit holds for all workers together.
 */
export async function createWorkers({
  config,
  pool,
  discord,
  connection,
  workflowBundlePath,
}: WorkerDeps): Promise<Workers> {
  const { clientId, clientSecret } = config.discord;
  const temporal = new Client({ connection, namespace: config.temporal.namespace });
  const activities = createActivities({
    pool,
    discord,
    redrive: (app) =>
      requestRoleRedrive({ temporal, config }, { applicationId: app.id, organizationId: app.organizationId }),
    oauth: { apiBaseUrl: config.discord.apiBaseUrl, clientId: clientId ?? '', clientSecret: clientSecret ?? '' },
    publicBaseUrl: config.publicBaseUrl,
    tokenEncryptionKey: config.tokenEncryptionKey,
  });
  const common = {
    connection,
    namespace: config.temporal.namespace,
    shutdownGraceTime: '30s',
    // Reported with every task (the Web UI shows which build ran each step); tasks are not routed
    // by it: upgrades rely on patched() and replay tests (see "Changing a workflow" in the README).
    workerDeploymentOptions: {
      version: { deploymentName: 'discord-role-grants', buildId: buildId(config.buildCommit) },
      useWorkerVersioning: false,
    },
  } as const;
  const main = await Worker.create({
    ...common,
    taskQueue: config.temporal.taskQueue,
    workflowBundle: { codePath: workflowBundlePath },
    activities: { ...activities.database, ...activities.roleWorkflows },
  });
  const discordWorker = await Worker.create({
    ...common,
    taskQueue: config.temporal.discordTaskQueue,
    activities: activities.discord,
    // Discord allows 50 requests/s per bot; stay below it for every worker of the deployment together.
    maxTaskQueueActivitiesPerSecond: config.discord.maxRequestsPerSecond,
  });
  return {
    run: async () => {
      await Promise.all([main.run(), discordWorker.run()]);
    },
    shutdown: () => {
      for (const w of [main, discordWorker]) {
        if (w.getState() === 'RUNNING') w.shutdown();
      }
    },
  };
}
