/** Polls until the predicate holds; fails with the label after the timeout. No fixed sleeps. */
export async function waitUntil(
  predicate: () => boolean | Promise<boolean>,
  label = 'the condition',
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await predicate()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out waiting for: ${label}`);
}
