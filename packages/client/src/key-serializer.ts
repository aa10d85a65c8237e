/**
 * Runs operations one after another per key (joins, leaves and rejoins of
 * one topic never overlap), and operations of different keys concurrently.
 * A failed operation does not stop the ones queued after it.
 */
export class KeySerializer {
  readonly #tails = new Map<string, Promise<void>>();

  run<T>(key: string, operation: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const result = previous.then(operation);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }
}
