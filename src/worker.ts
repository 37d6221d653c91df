import { Client } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import proto from '@temporalio/proto';
import { createActivities } from '../activities/index.js';
import { createDiscordApi } from './discord/api.js';
import { botTokenStatus, createDiscordGuard, type DiscordGuard } from './discord/guard.js';
import { createDiscordRest } from './discord/rest.js';
import { buildId } from './build-info.js';
import { handOffToRoleWorkflow, requestRoleRedrive, startRedrive } from './temporal/operations.js';
import { organizationsWithHeldBackGrants } from './db/applications.js';
import { listConnectedOrganizations } from './db/discord-configs.js';
import { forEachConcurrently } from './concurrency.js';
import { deleteReconciliationSchedule, ensureReconciliationSchedule } from './temporal/schedules.js';
import { addTaskQueueBacklogSource, BACKLOG_TIMEOUT_MS, type TaskQueueBacklog } from './metrics.js';
import type { Config } from './config.js';
import type { RoleWorkflowOptions } from './temporal/shared.js';
import type { DiscordApi } from './discord/api.js';
import type { Pool } from './db/pool.js';
import type { Logger } from './logger.js';

export interface WorkerDeps {
  config: Config;
  pool: Pool;
  logger: Logger;
  /** The Discord API; by default one for `config.discord` behind the shared rate and circuit breaker. */
  discord?: DiscordApi;
  connection: NativeConnection;
  /** A prebuilt bundle of `workflows/` (see src/temporal/workflow-bundle.ts). */
  workflowBundlePath: string;
  /** Test hooks of the role workflows this worker starts (a bulk's hand-offs, a reconciliation's findings). */
  roleWorkflowOptions?: RoleWorkflowOptions;
}

export interface Workers {
  /** Resolves once both workers have stopped. */
  run: () => Promise<void>;
  /** Stops polling, lets running activities finish, then stops. */
  shutdown: () => void;
}

/**
 * Workflow runs a worker keeps in memory between their tasks. The SDK's default scales with the
 * heap (thousands here), and a bulk of 10,000 grants would keep each of them: about 250 KB apiece.
 * A run not in the cache replays its history on its next task, which stays a few events long.
 */
const MAX_CACHED_WORKFLOWS = 150;

/** Discord activities a worker runs at once: each waits for its request slots, about 1 s ahead at most. */
const DISCORD_ACTIVITY_SLOTS = 20;
/** Reconciliation batches a worker runs at once (each one organization's page of members). */
const BACKGROUND_ACTIVITY_SLOTS = 4;

/**
 * Sets the Discord task queues' dispatch limit on the Temporal server, where no worker's options
 * can clear it (a worker's `maxTaskQueueActivitiesPerSecond` would be replaced by the last poller's).
 * Each activity makes at least one request, so this also bounds requests; the exact per-request
 * rate is the guard's (src/discord/guard.ts). `0` pauses the queue (the benchmark does).
 */
export async function setDiscordQueueRateLimit(
  connection: Pick<NativeConnection, 'workflowService'>,
  config: Pick<Config, 'temporal'>,
  requestsPerSecond: number,
  taskQueues = [config.temporal.discordTaskQueue, config.temporal.discordConnectionTaskQueue],
): Promise<void> {
  for (const taskQueue of taskQueues) {
    await connection.workflowService.updateTaskQueueConfig({
      namespace: config.temporal.namespace,
      identity: 'discord-role-grants worker',
      taskQueue,
      taskQueueType: proto.temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
      updateQueueRateLimit: {
        rateLimit: { requestsPerSecond },
        reason: 'Discord allows 50 requests per second per bot (DISCORD_MAX_REQUESTS_PER_SECOND)',
      },
    });
  }
}

/**
 * The approximate backlog of this process's task queues, as the Temporal server counts it
 * (DescribeTaskQueue with report_stats): read on each scrape of /metrics.
 */
export async function taskQueueBacklogs(
  connection: Pick<NativeConnection, 'workflowService' | 'withDeadline'>,
  config: Pick<Config, 'temporal'>,
): Promise<TaskQueueBacklog[]> {
  const { TASK_QUEUE_TYPE_ACTIVITY: ACTIVITY, TASK_QUEUE_TYPE_WORKFLOW: WORKFLOW } =
    proto.temporal.api.enums.v1.TaskQueueType;
  const { taskQueue, discordTaskQueue, discordConnectionTaskQueue } = config.temporal;
  const queues = [
    { taskQueue, taskType: 'workflow', type: WORKFLOW },
    { taskQueue, taskType: 'activity', type: ACTIVITY },
    { taskQueue: discordTaskQueue, taskType: 'activity', type: ACTIVITY },
    { taskQueue: discordConnectionTaskQueue, taskType: 'activity', type: ACTIVITY },
  ] as const;
  return await connection.withDeadline(Date.now() + BACKLOG_TIMEOUT_MS, () =>
    Promise.all(
      queues.map(async (q) => {
        const { stats } = await connection.workflowService.describeTaskQueue({
          namespace: config.temporal.namespace,
          taskQueue: { name: q.taskQueue },
          taskQueueType: q.type,
          reportStats: true,
        });
        const count = stats?.approximateBacklogCount ?? 0;
        return {
          taskQueue: q.taskQueue,
          taskType: q.taskType,
          backlog: typeof count === 'number' ? count : count.toNumber(),
        };
      }),
    ),
  );
}

/**
 * Discord refused the bot token earlier (every grant waits): ask it again once, at start, since a
 * new token usually comes with a restart. Accepted, every organization's held-back grants run again.
 */
async function resumeAfterTokenFixed({
  pool,
  logger,
  guard,
  discord,
  temporal,
  config,
}: {
  pool: Pool;
  logger: Logger;
  guard: DiscordGuard;
  discord: DiscordApi;
  temporal: Client;
  config: Config;
}): Promise<void> {
  if (!(await botTokenStatus(pool)).rejectedAt) return;
  try {
    await guard.asConnectionCheck(() => discord.getCurrentUser());
  } catch (err) {
    logger.error({ err }, 'Discord still refuses the bot token: every grant stays paused (check DISCORD_BOT_TOKEN)');
    return;
  }
  const organizations = await organizationsWithHeldBackGrants(pool);
  logger.info(
    { organizations: organizations.length },
    'Discord accepts the bot token again: resuming held-back grants',
  );
  const reason = `token-accepted-${Date.now()}`;
  for (const organizationId of organizations) await startRedrive({ temporal, config }, { organizationId, reason });
}

/**
 * Three workers in one process: workflows and their Postgres activities on the main task queue;
 * Discord grants on a queue of their own; and connection work (connect, disconnect, check again)
 * on another, so it never waits behind a bulk's backlog of grants. Every Discord request of every
 * worker shares one rate (src/discord/guard.ts), also enforced on the server's side of both queues.
 */
export async function createWorkers({
  config,
  pool,
  logger,
  discord: givenDiscord,
  connection,
  workflowBundlePath,
  roleWorkflowOptions,
}: WorkerDeps): Promise<Workers> {
  const { clientId, clientSecret } = config.discord;
  const temporal = new Client({ connection, namespace: config.temporal.namespace });
  const rate = config.discord.maxRequestsPerSecond;
  const guard = createDiscordGuard(pool, {
    requestsPerSecond: rate,
    onPause: (guildId, reason) =>
      logger.error({ guildId: guildId ?? 'every guild' }, `Discord grants paused by the circuit breaker: ${reason}`),
  });
  const discord =
    givenDiscord ??
    createDiscordApi(
      createDiscordRest({ apiBaseUrl: config.discord.apiBaseUrl, botToken: config.discord.botToken ?? '', guard }),
    );
  await setDiscordQueueRateLimit(connection, config, rate);
  await resumeAfterTokenFixed({ pool, logger, guard, discord, temporal, config });
  // Connections made before reconciliations existed (or while a worker was down) get their schedule;
  // an existing one takes this configuration's period.
  await forEachConcurrently(await listConnectedOrganizations(pool), 8, async (organizationId) => {
    try {
      await ensureReconciliationSchedule(temporal, config, organizationId);
    } catch (err) {
      // One organization's schedule must not stop the worker: the next start tries again.
      logger.error({ err, organizationId }, 'could not create or update the reconciliation schedule');
    }
  });
  const activities = createActivities({
    pool,
    discord,
    guard,
    handOff: (item) => handOffToRoleWorkflow({ temporal, config, roleWorkflowOptions }, item),
    redrive: (app) =>
      requestRoleRedrive({ temporal, config }, { applicationId: app.id, organizationId: app.organizationId }),
    reconciliationSchedule: {
      ensure: (organizationId) => ensureReconciliationSchedule(temporal, config, organizationId),
      remove: (organizationId) => deleteReconciliationSchedule(temporal, organizationId),
    },
    oauth: { apiBaseUrl: config.discord.apiBaseUrl, clientId: clientId ?? '', clientSecret: clientSecret ?? '' },
    publicBaseUrl: config.publicBaseUrl,
    tokenEncryptionKey: config.tokenEncryptionKey,
    // Decision emails (sent only when SMTP_URL is set): the status link needs the API's secret.
    config,
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
    maxCachedWorkflows: MAX_CACHED_WORKFLOWS,
    activities: {
      ...activities.database,
      ...activities.roleWorkflows,
      ...activities.bulkReviews,
      ...activities.email,
    },
  });
  const discordWorkers = await Promise.all(
    [config.temporal.discordTaskQueue, config.temporal.discordConnectionTaskQueue].map((taskQueue) =>
      Worker.create({
        ...common,
        taskQueue,
        activities: { ...activities.discord, ...activities.reconciliation },
        maxConcurrentActivityTaskExecutions: DISCORD_ACTIVITY_SLOTS,
      }),
    ),
  );
  // Reconciliations' comparisons: a few slots of their own, so they never hold a grant's.
  const background = await Worker.create({
    ...common,
    taskQueue: config.temporal.discordBackgroundTaskQueue,
    activities: activities.reconciliation,
    maxConcurrentActivityTaskExecutions: BACKGROUND_ACTIVITY_SLOTS,
  });
  const all = [main, ...discordWorkers, background];
  const removeBacklogSource = addTaskQueueBacklogSource(() => taskQueueBacklogs(connection, config));
  return {
    run: async () => {
      try {
        await Promise.all(all.map((w) => w.run()));
      } finally {
        removeBacklogSource();
      }
    },
    shutdown: () => {
      removeBacklogSource();
      for (const w of all) {
        if (w.getState() === 'RUNNING') w.shutdown();
      }
    },
  };
}
