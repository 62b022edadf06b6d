/**
 * The IPC message a role sends its supervisor once it serves, and the one it
 * sends when it could not start (so the supervisor can say why in one line).
 */
export interface ReadyMessage {
  type: 'mcp-scale:ready';
  role: 'worker' | 'gateway';
  id: string;
  url: string;
  port: number;
  /** A gateway's ops-only port (--admin-port). */
  adminPort?: number;
  pid: number;
}

export interface FailedMessage {
  type: 'mcp-scale:failed';
  role: 'worker' | 'gateway';
  message: string;
}

export function isReadyMessage(value: unknown): value is ReadyMessage {
  return (
    typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'mcp-scale:ready'
  );
}

export function isFailedMessage(value: unknown): value is FailedMessage {
  return (
    typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'mcp-scale:failed'
  );
}

/** Tells the parent (if any) that this role is serving. */
export function signalReady(message: Omit<ReadyMessage, 'type'>): void {
  if (process.send && process.connected)
    process.send({ type: 'mcp-scale:ready', ...message } satisfies ReadyMessage);
}

export function signalFailed(role: 'worker' | 'gateway', message: string): void {
  if (process.send && process.connected)
    process.send({ type: 'mcp-scale:failed', role, message } satisfies FailedMessage);
}

/**
 * Runs `close` on SIGINT/SIGTERM, and when the supervisor that started this
 * process goes away (its IPC channel closes), so no role outlives `serve`.
 */
export function closeOnSignals(
  close: () => Promise<void>,
  { ignoreSigint = false }: { ignoreSigint?: boolean } = {},
): void {
  let closing = false;
  const stop = () => {
    if (closing) return;
    closing = true;
    close()
      .catch((error: unknown) => console.error(error))
      .finally(() => {
        process.exitCode ??= 0;
        // Let stdio flush, then leave even if a stray handle would keep us alive.
        setTimeout(() => process.exit(), 50).unref();
      });
  };
  if (ignoreSigint) process.on('SIGINT', () => {});
  else process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  if (process.send) process.once('disconnect', stop);
}
