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
  1739257202, 973220443, 2699129761, 2093677553, 4094622052, 1543364646, 3528991549, 3883338042, 672054065, 4118181128,
  134743299,
];
export const plainPrompt = { prompt: 'a'.repeat(1000) };
export const plainPromptOptions = { model: 'llama', blockChars: 128, maxBlocks: 4 };
export const plainPromptHashes = [2106286758, 1012052577, 1905812129, 1279148434];
