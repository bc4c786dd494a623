// Test helpers that drive the pure engine in simulated time (no sleeping).
import { Engine, type EngineEvent, type EngineRequest } from '../../../../gpu-backends/simulator/engine.ts';
import { promptBlockHashes } from '../../../../gpu-backends/simulator/tokenizer.ts';

/** A prompt of exactly `tokens` tokens whose text is determined by `tag` (different tags share nothing). */
export function promptText(tokens: number, tag: string): string {
  const unit = `${tag}:`.padEnd(8, '#');
  let s = '';
  let i = 0;
  while (s.length < tokens * 4) s += `${unit}${(i++).toString(36).padStart(8, '0')}`;
  return s.slice(0, tokens * 4);
}

export function request(id: string, text: string, maxTokens = 1): EngineRequest {
  const { tokens, blockHashes } = promptBlockHashes(text);
  return { id, blockHashes, promptTokens: tokens, maxTokens };
}

/** Runs the engine until it is idle (or `until`), collecting events. */
export function runToIdle(engine: Engine, until = Infinity): EngineEvent[] {
  const events: EngineEvent[] = [];
  for (let t = engine.nextEventTime(); t !== undefined && t <= until; t = engine.nextEventTime()) {
    events.push(...engine.advanceTo(t));
  }
  if (until !== Infinity) events.push(...engine.advanceTo(until));
  return events;
}

export function firstToken(events: EngineEvent[], id: string): Extract<EngineEvent, { kind: 'first_token' }> {
  const e = events.find((x) => x.kind === 'first_token' && x.id === id);
  if (!e || e.kind !== 'first_token') throw new Error(`no first_token for ${id}`);
  return e;
}

export function finished(events: EngineEvent[], id: string): Extract<EngineEvent, { kind: 'finished' }> {
  const e = events.find((x) => x.kind === 'finished' && x.id === id);
  if (!e || e.kind !== 'finished') throw new Error(`no finished event for ${id}`);
  return e;
}
