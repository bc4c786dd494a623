// Runs a task in the background until it succeeds once, with exponential backoff between attempts: for start-up
// work (migrations) that must not hold the process up while its server is away.
import { backoffMs } from './backoff.ts';

export interface RetryOptions {
  baseMs: number;
  maxMs: number;
  onError?(err: unknown, attempt: number): void;
  /** Called once, after the attempt that succeeded. */
  onDone?(attempts: number): void;
}

export class RetryUntilDone {
  done = false;
  /** The last attempt's error; undefined before the first attempt failed. */
  lastError: unknown = undefined;
  private stopped = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private attempts = 0;

  constructor(private readonly task: () => Promise<unknown>, private readonly opts: RetryOptions) {}

  start(): this {
    if (this.attempts === 0 && !this.stopped) void this.attempt();
    return this;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private async attempt(): Promise<void> {
    this.attempts++;
    try {
      await this.task();
    } catch (err) {
      this.lastError = err;
      this.opts.onError?.(err, this.attempts);
      if (this.stopped) return;
      this.timer = setTimeout(() => void this.attempt(), backoffMs(this.attempts, this.opts.baseMs, this.opts.maxMs));
      // Retrying must not keep an otherwise finished process alive.
      (this.timer as { unref?: () => void }).unref?.();
      return;
    }
    if (this.stopped) return;
    this.done = true;
    this.lastError = undefined;
    this.opts.onDone?.(this.attempts);
  }
}
