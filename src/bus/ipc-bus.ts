import { ListenerSet, type ClusterBus } from './cluster-bus.js';

/** The IPC message a child sends to (and receives from) the supervisor. */
export interface BusIpcMessage {
  type: 'mcp-scale:bus';
  topic: string;
  message: unknown;
}

export function isBusIpcMessage(value: unknown): value is BusIpcMessage {
  return (
    typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'mcp-scale:bus'
  );
}

/**
 * ClusterBus for the in-memory single-node mode: worker processes started by
 * `serve` have an IPC channel to the supervisor, which relays each message to
 * the other children. Without an IPC channel it degrades to in-process only.
 */
export class IpcClusterBus implements ClusterBus {
  private readonly listeners = new ListenerSet();
  private readonly onParentMessage = (value: unknown) => {
    if (isBusIpcMessage(value)) this.listeners.deliver(value.topic, value.message);
  };

  constructor() {
    process.on('message', this.onParentMessage);
  }

  publish(topic: string, message: unknown): void {
    this.listeners.deliver(topic, message);
    if (process.send && process.connected) {
      const envelope: BusIpcMessage = { type: 'mcp-scale:bus', topic, message };
      process.send(envelope);
    }
  }

  subscribe(topic: string, listener: (message: unknown) => void): () => void {
    return this.listeners.add(topic, listener);
  }

  async close(): Promise<void> {
    process.off('message', this.onParentMessage);
  }
}
