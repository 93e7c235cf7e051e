/**
 * Serialized list answers, kept per request URL (which holds the user's id) with the user's change
 * counter they are as of. A list request reads the counter first (one primary-key lookup: the
 * same lookup a 304 needs); when it equals an entry's, nothing of the user's tasks changed since
 * that answer was made, so the answer is sent again as it is, without the page query and without
 * serializing. Never stale: every change of a user's tasks moves the counter in the same
 * transaction, and an entry is only ever used for the counter it was made at.
 *
 * Bounded in bytes (LIST_CACHE_MB), least recently used first out. Per process: with several
 * instances each keeps its own, and each validates against the database on every request.
 */
export interface CachedPage {
  /** The user's change counter the body is as of. */
  readonly seq: number;
  readonly body: string;
  /** The Link header of the next page, if any. */
  readonly link: string | undefined;
}

/** Key and bookkeeping per entry, beside the body (UTF-16: 2 bytes a character at most). */
const OVERHEAD_BYTES = 200;

export class PageCache {
  private readonly entries = new Map<string, CachedPage>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get enabled(): boolean {
    return this.maxBytes > 0;
  }

  /** The answer for this URL if it was made at this counter; an older one is dropped. */
  get(url: string, seq: number): CachedPage | undefined {
    const entry = this.entries.get(url);
    if (entry === undefined) return undefined;
    this.entries.delete(url);
    if (entry.seq !== seq) {
      this.bytes -= size(url, entry);
      return undefined;
    }
    this.entries.set(url, entry); // most recently used: last
    return entry;
  }

  set(url: string, entry: CachedPage): void {
    const bytes = size(url, entry);
    if (bytes > this.maxBytes / 8) return; // one list never takes much of the room
    const old = this.entries.get(url);
    if (old !== undefined) {
      this.entries.delete(url);
      this.bytes -= size(url, old);
    }
    this.entries.set(url, entry);
    this.bytes += bytes;
    for (const [key, value] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(key);
      this.bytes -= size(key, value);
    }
  }

  /** What it holds, for /metrics-like introspection and tests. */
  stats(): { entries: number; bytes: number; maxBytes: number } {
    return { entries: this.entries.size, bytes: this.bytes, maxBytes: this.maxBytes };
  }
}

function size(url: string, entry: CachedPage): number {
  return 2 * (url.length + entry.body.length + (entry.link?.length ?? 0)) + OVERHEAD_BYTES;
}
