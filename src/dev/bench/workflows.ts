/** The ceiling of `npm run bench`: a workflow that does nothing, to measure the Temporal server itself. */
export async function benchNoopWorkflow(): Promise<void> {
  // Nothing: one workflow task to start, one to complete.
}
