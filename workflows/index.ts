export async function placeholderWorkflow(): Promise<string> {
  return 'ok';
}
