import type { RelayedEnvelope } from '@realtime/protocol';

export interface PresenceEventQueueOptions {
  /** Broadcasts one event to a topic's members on every node. */
  broadcast(topic: string, event: string, envelope: RelayedEnvelope): void;
  /** Longest stretch of broadcasting before yielding to I/O. Default 5 ms. */
  sliceMs?: number;
}

interface QueuedEvent {
  topic: string;
  event: string;
  envelope: RelayedEnvelope;
}

/**
 * `join-*` / `leave-*` broadcasts, sent at low priority. The guide makes a
 * storm of N joins cost N² deliveries; sending them from the join handler
 * would queue every later acknowledgement (and message) behind that work.
 * Instead they go out in FIFO order (so a topic's joins and leaves keep
 * their order), in slices of at most `sliceMs`, between which the event loop
 * serves I/O: acks, messages, Redis replies.
 *
 * Consequence, documented for clients: under load a `join-*` may arrive
 * after a message the joiner sent right after its ack.
 */
export class PresenceEventQueue {
  private readonly queue: QueuedEvent[] = [];
  private head = 0;
  private scheduled: NodeJS.Immediate | undefined;
  private readonly sliceMs: number;

  constructor(private readonly options: PresenceEventQueueOptions) {
    this.sliceMs = options.sliceMs ?? 5;
  }

  enqueue(topic: string, event: string, envelope: RelayedEnvelope): void {
    this.queue.push({ topic, event, envelope });
    this.scheduled ??= setImmediate(() => this.drainSlice());
  }

  /** Events waiting to be sent. */
  get length(): number {
    return this.queue.length - this.head;
  }

  /** Sends everything still queued, now (a drain before shutdown). */
  flush(): void {
    clearImmediate(this.scheduled);
    this.scheduled = undefined;
    this.sendUntil(Number.POSITIVE_INFINITY);
  }

  private drainSlice(): void {
    this.scheduled = undefined;
    this.sendUntil(performance.now() + this.sliceMs);
    if (this.length > 0) this.scheduled = setImmediate(() => this.drainSlice());
  }

  private sendUntil(deadline: number): void {
    while (this.head < this.queue.length) {
      const next = this.queue[this.head] as QueuedEvent;
      this.queue[this.head] = undefined as unknown as QueuedEvent;
      this.head += 1;
      this.options.broadcast(next.topic, next.event, next.envelope);
      if (performance.now() >= deadline) break;
    }
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
  }
}
