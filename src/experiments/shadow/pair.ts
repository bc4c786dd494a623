// One paired record per (primary, candidate) with the shared correlation id. Comparison fields are only
// meaningful when both legs completed (`comparable`); otherwise the legs' error classes say what happened.
import { newEventId, TEXT_MAX, type ShadowPairEvent } from '../../analytics/event.ts';
import { clipText } from '../../util/text.ts';
import { compareOutputs } from './compare.ts';
import type { LegOutcome } from './leg.ts';

export interface PairMeta {
  tenant: string;
  requestId: string;
  correlationId: string;
  /** Public model name. */
  model: string;
  experiment: string;
  arm: string;
  stream: boolean;
  pairKind: 'shadow' | 'noise';
  /** Clock reading (ms since the epoch) when the pair completed. */
  now: number;
  eventId?: string;
}

export function buildPairRecord(primary: LegOutcome, candidate: LegOutcome, meta: PairMeta): ShadowPairEvent {
  const comparable = primary.complete && candidate.complete;
  const cmp = compareOutputs(
    { text: primary.text, finishReason: primary.leg.finish_reason || null },
    { text: candidate.text, finishReason: candidate.leg.finish_reason || null },
  );
  return {
    type: 'shadow_pair',
    event_id: meta.eventId ?? newEventId(),
    ts: Math.floor(meta.now),
    tenant: meta.tenant,
    request_id: meta.requestId,
    correlation_id: meta.correlationId,
    model: clipText(meta.model, TEXT_MAX.model), // the client's model name: unbounded in the request
    experiment: meta.experiment,
    arm: meta.arm,
    stream: meta.stream,
    pair_kind: meta.pairKind,
    ...primary.leg,
    cand: candidate.leg,
    exact_match: comparable && cmp.exactMatch,
    similarity: comparable ? cmp.similarity : null,
    length_ratio: comparable ? cmp.lengthRatio : null,
    finish_agree: comparable && cmp.finishAgree,
    comparable,
  };
}
