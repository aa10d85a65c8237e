/** A listener map: event name → listener signature. */
export type ListenerMap<Events> = { [E in keyof Events]: (...args: never[]) => void };

/**
 * A minimal typed event emitter (no Node `events`). The SDK keeps one
 * private per handle and exposes only on / off / once. Listeners run in the
 * order they were added; one that throws does not keep the others (or the
 * SDK's own bookkeeping) from running: its error is rethrown on a later
 * turn, where the runtime reports it as uncaught.
 */
export class TypedEmitter<Events extends ListenerMap<Events>> {
  readonly #listeners = new Map<keyof Events, Set<Events[keyof Events]>>();

  on<E extends keyof Events>(event: E, listener: Events[E]): this {
    let set = this.#listeners.get(event);
    if (set === undefined) this.#listeners.set(event, (set = new Set()));
    set.add(listener);
    return this;
  }

  off<E extends keyof Events>(event: E, listener: Events[E]): this {
    this.#listeners.get(event)?.delete(listener);
    return this;
  }

  /** Calls `listener` the next time `event` fires, then removes it. */
  once<E extends keyof Events>(event: E, listener: Events[E]): this {
    const wrapper = ((...args: Parameters<Events[E]>) => {
      this.off(event, wrapper);
      listener(...args);
    }) as Events[E];
    return this.on(event, wrapper);
  }

  /** Whether anything listens to `event`. */
  hasListeners(event: keyof Events): boolean {
    return (this.#listeners.get(event)?.size ?? 0) > 0;
  }

  emit<E extends keyof Events>(event: E, ...args: Parameters<Events[E]>): void {
    const set = this.#listeners.get(event);
    if (set === undefined) return;
    for (const listener of [...set] as Events[E][]) {
      try {
        listener(...args);
      } catch (err) {
        setTimeout(() => {
          throw err;
        }, 0);
      }
    }
  }

  removeAllListeners(): void {
    this.#listeners.clear();
  }
}
