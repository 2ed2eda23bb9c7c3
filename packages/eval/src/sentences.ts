/**
 * Paragraphs and sentences of plain prose, for building task items from held-out text. A
 * sentence ends at . ! or ? (with any closing quotes or brackets) followed by whitespace
 * or the end, so "$18,244,346.01" and "3.5" stay inside their sentence. Abbreviations
 * ("Mr.") still split; items built from such fragments are merely shorter.
 */
const SENTENCE = /\S[^]*?[.!?]+["'”’)\]]*(?=\s|$)/g;

/** Paragraphs (split at blank lines) with whitespace collapsed to single spaces. */
export function paragraphsOf(text: string): string[] {
  return text
    .split(/\n\s*\n/)
    .map((p) => p.replace(/\s+/g, ' ').trim())
    .filter((p) => p.length > 0);
}

export function sentencesOf(paragraph: string): string[] {
  return (paragraph.match(SENTENCE) ?? []).map((s) => s.trim());
}
