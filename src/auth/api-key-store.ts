import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync, unwatchFile, watchFile, type Stats } from 'node:fs';

export interface ApiKeyStoreOptions {
  /** Keys given directly (API_KEYS). */
  keys?: readonly string[];
  /** File with one key per line (API_KEY_FILE); blank lines and lines starting with # are skipped. */
  file?: string;
  /** How often the file's metadata is polled, in ms. */
  pollIntervalMs?: number;
  /** Told when the file could not be re-read; the keys from before stay in force. Never given a key. */
  onReloadError?(error: Error): void;
  onReload?(keyCount: number): void;
}

/** Keys are kept only as SHA-256 digests: equal-length values for timingSafeEqual, and no key text in a heap dump. */
function digestOf(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

function keysInFile(path: string): string[] {
  return readFileSync(path, 'utf8')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/**
 * The API keys in force. The file is polled (fs.watchFile) rather than watched with fs.watch because a Kubernetes
 * Secret volume replaces the file by swapping a symlink, which inotify on the old path does not report.
 */
export class ApiKeyStore {
  private fixed: Buffer[];
  private fromFile: Buffer[] = [];
  private readonly file: string | undefined;
  private readonly listener: ((current: Stats, previous: Stats) => void) | undefined;

  /** Throws when the file cannot be read at start: a key file that is asked for and absent is a deployment error. */
  constructor(private readonly options: ApiKeyStoreOptions) {
    this.fixed = (options.keys ?? []).map(digestOf);
    this.file = options.file;
    if (this.file !== undefined) {
      this.fromFile = keysInFile(this.file).map(digestOf);
      this.listener = () => this.reload();
      watchFile(this.file, { interval: options.pollIntervalMs ?? 1000, persistent: false }, this.listener);
    }
  }

  /** How many keys are accepted now. */
  get size(): number {
    return this.fixed.length + this.fromFile.length;
  }

  /** Whether key is one of the keys in force. Every key is compared, in constant time, whatever matches. */
  accepts(key: string): boolean {
    const candidate = digestOf(key);
    let found = false;
    for (const known of [...this.fixed, ...this.fromFile]) {
      if (timingSafeEqual(known, candidate)) found = true;
    }
    return found;
  }

  /** Re-reads the file now (the poll does this by itself when the file changes). */
  reload(): void {
    if (this.file === undefined) return;
    try {
      this.fromFile = keysInFile(this.file).map(digestOf);
      this.options.onReload?.(this.fromFile.length);
    } catch (error) {
      this.options.onReloadError?.(error as Error);
    }
  }

  close(): void {
    if (this.file !== undefined && this.listener !== undefined) unwatchFile(this.file, this.listener);
  }
}
