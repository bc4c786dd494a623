// A generated workload of shared-prefix conversations: `groups` agents, each with its own system prompt, each
// running `conversations` chats of `turns` turns. Turn t of a chat repeats its first t-1 turns (fixed assistant
// answers), so it extends the previous turn's prompt, as an agent's growing context does. Rounds go in order
// (every chat's turn t before any turn t+1) and are shuffled inside, with a fixed seed.
import { blockText } from '../../../bench/routing-lab/synthetic-text.ts';
import { fmix32 } from '../../../src/util/hash.ts';

export interface WorkloadShape {
  groups: number;
  conversations: number;
  turns: number;
  systemChars: number;
  userChars: number;
  seed: number;
}

export interface ChatRequest {
  group: number;
  conversation: number;
  turn: number;
  messages: { role: string; content: string }[];
}

const text = (id: number, chars: number) => blockText(id).slice(0, chars);

export function sharedPrefixConversations(s: WorkloadShape): ChatRequest[] {
  const out: ChatRequest[] = [];
  for (let turn = 1; turn <= s.turns; turn++) {
    const round: ChatRequest[] = [];
    for (let g = 0; g < s.groups; g++) {
      const system = { role: 'system', content: text(1_000 + g, s.systemChars) };
      for (let c = 0; c < s.conversations; c++) {
        const chat = 10_000 + 100 * (g * s.conversations + c);
        const messages = [system];
        for (let t = 1; t <= turn; t++) {
          messages.push({ role: 'user', content: text(chat + 2 * t, s.userChars) });
          if (t < turn) messages.push({ role: 'assistant', content: text(chat + 2 * t + 1, s.userChars / 2) });
        }
        round.push({ group: g, conversation: c, turn, messages });
      }
    }
    // A seeded shuffle of the round (sort by a hash of the position).
    const key = (i: number) => fmix32((i * 0x9e3779b1) ^ fmix32(s.seed + turn));
    out.push(...round.map((r, i) => [key(i), r] as const).sort((a, b) => a[0] - b[0]).map(([, r]) => r));
  }
  return out;
}
