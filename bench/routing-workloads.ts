// The routing lab's named workloads (any other value is read as a trace path).
export const WORKLOADS: Record<string, string> = {
  mooncake: '../shared/traces/mooncake-conversation.jsonl',
  generated: 'bench/workloads/generated.jsonl',
};
