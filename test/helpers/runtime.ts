import { DefaultLogger, makeTelemetryFilterString, Runtime } from '@temporalio/worker';

/**
 * The Temporal runtime of a test process (one per process, whichever file comes first): errors
 * only, the SDK core's own log lines included (a replay test that expects a history to fail must
 * not fill the output with the failure it expects).
 */
export function installTestRuntime(): void {
  try {
    Runtime.install({
      logger: new DefaultLogger('ERROR'),
      telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }), forward: {} } },
    });
  } catch {
    // already installed in this test process
  }
}
