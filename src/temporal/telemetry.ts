import { DefaultLogger, Runtime, type TelemetryOptions } from '@temporalio/worker';
import type { Config } from '../config.js';
import { StartError } from '../start-error.js';

/**
 * The Temporal SDK's own metrics (workers' task latencies, slots, polls, sticky cache, ...), served
 * by the SDK's core in Prometheus format at `http://TEMPORAL_METRICS_ADDRESS/metrics`, with the
 * SDK's default names (`temporal_` prefix, durations in milliseconds) that Temporal's dashboards
 * expect. Off without TEMPORAL_METRICS_ADDRESS. That server has no access control: bind it to a
 * private address.
 */
export function temporalTelemetryOptions(config: Pick<Config, 'metrics'>): TelemetryOptions | undefined {
  const bindAddress = config.metrics.temporalAddress;
  return bindAddress ? { metrics: { prometheus: { bindAddress } } } : undefined;
}

/**
 * The process's Temporal runtime (once, before the first connection): the SDK's warnings, and its
 * metrics on TEMPORAL_METRICS_ADDRESS. An address that cannot be bound stops the start, with the fix.
 */
export function installTemporalRuntime(config: Pick<Config, 'metrics'>): void {
  try {
    Runtime.install({ logger: new DefaultLogger('WARN'), telemetryOptions: temporalTelemetryOptions(config) });
  } catch (err) {
    if (!config.metrics.temporalAddress) throw err;
    throw new StartError(
      `The Temporal SDK cannot serve its metrics on ${config.metrics.temporalAddress} (${err instanceof Error ? err.message : String(err)}).`,
      'Set TEMPORAL_METRICS_ADDRESS to a free host:port, or unset it.',
      { cause: err },
    );
  }
}
