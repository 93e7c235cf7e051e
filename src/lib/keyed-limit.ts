/**
 * At most `limit` tasks at once per key; the others wait their turn, first come first served.
 * The writes of one user serialise in PostgreSQL anyway (each takes the user's change counter
 * row lock until it commits): many of them queued there cost CPU, since every commit wakes every
 * waiter to recheck the row. Waiting here costs nothing, and `limit` > 1 keeps the next write
 * ready in PostgreSQL the moment the lock is free.
 */
export class KeyedLimit {
  private readonly queues = new Map<string, { running: number; waiting: Array<() => void> }>();

  constructor(private readonly limit: number) {}

  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    let queue = this.queues.get(key);
    if (queue === undefined) {
      queue = { running: 0, waiting: [] };
      this.queues.set(key, queue);
    }
    // A finishing task hands its slot to the first waiter (running stays as it is), so an arrival
    // between the hand-over and the waiter's turn cannot take the same slot as well.
    if (queue.running >= this.limit) await new Promise<void>((resolve) => queue.waiting.push(resolve));
    else queue.running++;
    try {
      return await task();
    } finally {
      const next = queue.waiting.shift();
      if (next !== undefined) next();
      else if (--queue.running === 0) this.queues.delete(key);
    }
  }

  /** Keys with tasks running or waiting (for tests). */
  get size(): number {
    return this.queues.size;
  }
}

/**
 * A user's reads in flight per process: at most `all` at once, and of them at most `costly` of the
 * costly ones (those no index narrows). A costly read waits for its costly turn first, then for a
 * turn among all, so it never holds a slot of the others while it waits.
 */
export class ReadLimits {
  private readonly all: KeyedLimit;
  private readonly costly: KeyedLimit;

  constructor(all: number, costly: number) {
    this.all = new KeyedLimit(all);
    this.costly = new KeyedLimit(Math.min(costly, all));
  }

  run<T>(key: string, task: () => Promise<T>, costly = false): Promise<T> {
    return costly ? this.costly.run(key, () => this.all.run(key, task)) : this.all.run(key, task);
  }
}
