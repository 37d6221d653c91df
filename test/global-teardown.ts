export default async function globalTeardown(): Promise<void> {
  const services = globalThis.__TEST_SERVICES__;
  if (!services) return;
  await Promise.allSettled([services.temporal.stop(), services.pg.stop()]);
}
