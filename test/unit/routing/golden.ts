// Fixed inputs and the hashes Node computes for them; the workerd test asserts the same values.
export const unicodeChat = {
  model: 'm',
  messages: [
    { role: 'system', content: 'Du bist ein hilfreicher Assistent. 日本語も話せます。🙂'.repeat(8) },
    { role: 'user', content: [{ type: 'text', text: `Héllo wörld — ${'ß'.repeat(300)}` }] },
  ],
};
export const unicodeChatOptions = { model: 'llama', blockChars: 64, maxBlocks: 16 };
export const unicodeChatHashes = [
  2210409860, 2083195653, 4157050353, 2346454297, 1010428575, 3796505836, 3478185807, 1948999213, 804554818, 1705746487,
  1271769868, 2598215049, 4159538853, 2191610094, 3865103514,
];
export const plainPrompt = { prompt: 'a'.repeat(1000) };
export const plainPromptOptions = { model: 'llama', blockChars: 128, maxBlocks: 4 };
export const plainPromptHashes = [3448795183, 2693699648, 1180554609, 1808393044];
