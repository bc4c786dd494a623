// Drives a pure Engine on the wall clock: simulated time = elapsed wall time x timeScale, and one timer fires
// when the engine's next step completes. Events go to per-request listeners. This is the only place where
// the simulator reads the clock.
import type { Engine, EngineEvent, EngineRequest } from './engine.ts';

export type EventListener = (event: EngineEvent) => void;

export class EngineDriver {
  private readonly listeners = new Map<string, EventListener>();
  private readonly origin: number;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerAt: number | undefined;
  private closed = false;

  constructor(
    readonly engine: Engine,
    readonly timeScale: number,
    private readonly wallNow: () => number = () => performance.now(),
  ) {
    if (!(timeScale > 0)) throw new Error(`timeScale must be > 0, got ${timeScale}`);
    this.origin = wallNow();
  }

  /** Current simulated time (ms). */
  simNow(): number {
    return (this.wallNow() - this.origin) * this.timeScale;
  }

  /** Wall-clock ms for a simulated duration. */
  wallMs(simMs: number): number {
    return simMs / this.timeScale;
  }

  /**
   * Calls `fn` once simulated time has reached `simTime`. Node timers may fire about a millisecond early, so
   * an early wake-up sleeps again for the rest. Returns a cancel function.
   */
  at(simTime: number, fn: () => void): () => void {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const wait = () => {
      const left = simTime - this.simNow();
      if (left <= 0) {
        timer = undefined;
        fn();
      } else timer = setTimeout(wait, Math.max(1, this.wallMs(left)));
    };
    wait();
    return () => {
      if (timer) clearTimeout(timer);
    };
  }

  /** Submits at the current simulated time; `listener` gets every event of the request, `finished` last. */
  submit(req: EngineRequest, listener: EventListener): number {
    const now = this.simNow();
    this.dispatch(this.engine.advanceTo(now));
    this.listeners.set(req.id, listener);
    this.engine.submit(req, now);
    this.schedule();
    return now;
  }

  abort(id: string): void {
    if (!this.listeners.has(id)) return;
    this.engine.abort(id, this.simNow());
    this.tick();
  }

  /** Applies every step due by now (also used before reading a snapshot). */
  tick(): void {
    if (this.closed) return;
    this.dispatch(this.engine.advanceTo(this.simNow()));
    this.schedule();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.listeners.clear();
  }

  private schedule(): void {
    if (this.closed) return;
    const next = this.engine.nextEventTime();
    if (next === undefined) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = this.timerAt = undefined;
      return;
    }
    if (this.timer && this.timerAt === next) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = next;
    const delay = Math.max(0, this.wallMs(next - this.simNow()));
    this.timer = setTimeout(() => {
      this.timer = this.timerAt = undefined;
      this.tick();
    }, delay);
  }

  private dispatch(events: EngineEvent[]): void {
    for (const ev of events) {
      const listener = this.listeners.get(ev.id);
      if (ev.kind === 'finished') this.listeners.delete(ev.id);
      listener?.(ev);
    }
  }
}
