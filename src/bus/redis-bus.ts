import { randomUUID } from 'node:crypto';
import type { KeySchema } from '../redis/keys.js';
import { closeRedis, connectRedis, connectSubscriber, type RedisClient } from '../redis/connection.js';
import { ListenerSet, type ClusterBus } from './cluster-bus.js';

interface Envelope {
  o: string;
  m: unknown;
}

/**
 * ClusterBus over Redis pub/sub: one channel per topic under the key prefix.
 * Messages a process publishes are delivered to its own listeners at once
 * and skipped when Redis echoes them back (matched by origin id).
 */
export class RedisClusterBus implements ClusterBus {
  private readonly origin = randomUUID();
  private readonly listeners = new ListenerSet();
  private readonly publisher: RedisClient;
  private readonly subscriber: RedisClient;
  private readonly subscribed = new Set<string>();

  constructor(
    url: string,
    private readonly keys: KeySchema,
    name = 'mcp-scale-bus',
  ) {
    this.publisher = connectRedis(url, { connectionName: `${name}-pub` });
    this.subscriber = connectSubscriber(url, `${name}-sub`);
    this.publisher.on('error', () => {});
    this.subscriber.on('error', () => {});
    this.subscriber.on('message', (channel: string, text: string) => this.onMessage(channel, text));
  }

  publish(topic: string, message: unknown): void {
    this.listeners.deliver(topic, message);
    const envelope: Envelope = { o: this.origin, m: message };
    // Best effort: while Redis is away, other processes miss the message
    // (pub/sub has no history); local listeners already have it.
    this.publisher.publish(this.keys.channel(topic), JSON.stringify(envelope)).catch(() => {});
  }

  subscribe(topic: string, listener: (message: unknown) => void): () => void {
    if (!this.subscribed.has(topic)) {
      this.subscribed.add(topic);
      // ioredis re-subscribes by itself after a reconnect.
      this.subscriber.subscribe(this.keys.channel(topic)).catch(() => {});
    }
    return this.listeners.add(topic, listener);
  }

  private onMessage(channel: string, text: string): void {
    const prefix = this.keys.channel('');
    if (!channel.startsWith(prefix)) return;
    let envelope: Envelope;
    try {
      envelope = JSON.parse(text) as Envelope;
    } catch {
      return;
    }
    if (envelope.o === this.origin) return;
    this.listeners.deliver(channel.slice(prefix.length), envelope.m);
  }

  async close(): Promise<void> {
    await Promise.all([closeRedis(this.publisher), closeRedis(this.subscriber)]);
  }
}
