// The built-in prompt templates. `{{name}}` is a variable the form asks for; the user's own
// templates (saved in this browser's localStorage) use the same syntax.

export const TEMPLATES = [
  { name: 'Summarize a text', maxTokens: 160, text: 'Summarize the following text in {{sentences}} sentences, keeping every number and name:\n\n{{text}}' },
  { name: 'Translate', maxTokens: 200, text: 'Translate into {{language}}. Keep the formatting; answer with the translation only.\n\n{{text}}' },
  { name: 'Explain code', maxTokens: 256, text: 'Explain what this {{language}} code does, step by step, for a junior developer:\n\n```\n{{code}}\n```' },
  { name: 'Write a unit test', maxTokens: 320, text: 'Write unit tests in {{framework}} for this function. Cover the edge cases.\n\n```\n{{code}}\n```' },
  { name: 'Extract JSON', maxTokens: 200, text: 'Extract {{fields}} from the text below. Answer with one JSON object and nothing else.\n\n{{text}}' },
  { name: 'Classify sentiment', maxTokens: 8, text: 'Classify the sentiment of this review as positive, negative or neutral. Answer with one word.\n\nReview: {{review}}' },
  { name: 'Draft an email', maxTokens: 240, text: 'Write a {{tone}} email to {{recipient}} about {{topic}}. At most 120 words.' },
  { name: 'Answer a question', maxTokens: 128, text: 'Answer briefly and say if you are unsure.\n\nQuestion: {{question}}' },
  { name: 'Brainstorm names', maxTokens: 96, text: 'Suggest {{count}} short names for {{thing}}. One per line, no explanations.' },
  { name: 'SQL from a question', maxTokens: 160, text: 'Given the table {{table}} with columns {{columns}}, write one SQL query that answers: {{question}}' },
];

/** The variables of a template, in order of first appearance. */
export function templateVars(text) {
  const out = [];
  for (const m of text.matchAll(/\{\{\s*([a-zA-Z][a-zA-Z0-9_ ]{0,30}?)\s*\}\}/g)) {
    if (!out.includes(m[1])) out.push(m[1]);
  }
  return out;
}

/** The template with each variable replaced by its value (an empty value keeps `{{name}}`). */
export function fillTemplate(text, values) {
  return text.replace(/\{\{\s*([a-zA-Z][a-zA-Z0-9_ ]{0,30}?)\s*\}\}/g, (all, name) =>
    values[name] !== undefined && values[name] !== '' ? values[name] : all,
  );
}
