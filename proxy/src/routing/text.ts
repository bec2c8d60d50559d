/** Extraction of the text a prompt is scored on. Pure. */

/** Text of a message `content`: a string, or the `text` of its text parts joined by newlines. */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let out = '';
  for (const part of content) {
    if (part && typeof part === 'object') {
      const p = part as { type?: unknown; text?: unknown };
      if ((p.type === 'text' || p.type === undefined || p.type === 'input_text') && typeof p.text === 'string') {
        out = out ? `${out}\n${p.text}` : p.text;
      }
    } else if (typeof part === 'string') {
      out = out ? `${out}\n${part}` : part;
    }
  }
  return out;
}

/** System prompt(s) then the last user message of a chat request, cut to `maxChars`. */
export function chatTextToScore(messages: readonly unknown[], maxChars: number): string {
  let system = '';
  let lastUser = '';
  for (const m of messages) {
    if (!m || typeof m !== 'object') continue;
    const { role, content } = m as { role?: unknown; content?: unknown };
    if (role === 'system' || role === 'developer') {
      const t = contentText(content);
      if (t) system = system ? `${system}\n${t}` : t;
    } else if (role === 'user') {
      lastUser = contentText(content);
    }
  }
  const text = system && lastUser ? `${system}\n\n${lastUser}` : system || lastUser;
  return truncate(text, maxChars);
}

/** The prompt of a legacy completions request (first prompt of a batch), cut to `maxChars`. */
export function completionTextToScore(prompt: unknown, maxChars: number): string {
  if (typeof prompt === 'string') return truncate(prompt, maxChars);
  if (Array.isArray(prompt) && typeof prompt[0] === 'string') return truncate(prompt[0], maxChars);
  return '';
}

/** The first `maxChars` UTF-16 units, never ending inside a surrogate pair. */
export function truncate(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  let end = maxChars;
  const c = text.charCodeAt(end - 1);
  if (c >= 0xd800 && c <= 0xdbff) end -= 1;
  return text.slice(0, end);
}
