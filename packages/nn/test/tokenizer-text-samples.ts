import { bundledDocuments, mulberry32, type Random } from '@distillery/data';

/** Strings that exercise every tokenizer stage: code, numbers, accents, CJK, emoji, whitespace runs, controls. */
export const VARIED_TEXTS: readonly string[] = [
  'Hello world',
  ' ',
  '   leading and trailing spaces   ',
  'tabs\tand\r\nnewlines\n\n\nand\u000bvertical\u000cfeeds',
  "don't we'll THEY'VE I'm she'd it's O'Neil's 'quoted' ''",
  'numbers 1,234.56 and 2024-11-01 and ٣٤٥ and ½ and 1234567890 and 3.14159e-10',
  'Ünïcödé façade naïve café e\u0301 \u00a0nbsp\u3000ideographic\u2028line sep ﬁ ligature Ⅻ ①',
  '日本語のテキストと中文文本 한국어 ภาษาไทย العربية עברית',
  '🐋 whale 👨‍👩‍👧 family 🇺🇸 flag ✔️ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢',
  'function square(x) {\n    return x ** 2; // comment\n}\n\tif (a && b || !c) { print(`${x}`); }',
  'def f(a, b=2, *args, **kw):\n    """Docstring."""\n    return [i**2 for i in range(10) if i % 3 == 0]\n',
  '\u0000\u0001\u001f\u007f control and \u200b zero width and \uFEFFbom',
  'x'.repeat(300),
  '          many          spaces          ',
  'MiXeD CaSe ALLCAPS lowercase',
  'emails a.b@example.com and https://example.com/path?q=1&r=2#frag',
  'lone surrogates \ud83d and \udc0b become U+FFFD',
];

/** Text mixing ordinary strings with special tokens of the file, glued and spaced. */
export function withSpecialTokens(specials: readonly string[]): string[] {
  const [a, b = a] = specials;
  return [
    `${a}Hello${b}`,
    `a ${a} b`,
    `a${a}b ${b} c`,
    `${a}${a} ${b}  ${b}\n${a}`,
    ` ${a} leading space`,
    `${a.slice(0, -1)} broken ${a}`,
  ];
}

const RANGES: readonly [number, number][] = [
  [0x00, 0x7f], [0x80, 0x2ff], [0x300, 0x36f], [0x2000, 0x206f], [0x3000, 0x30ff], [0x4e00, 0x9fff], [0xac00, 0xd7a3], [0x1f300, 0x1faff],
];

export function randomText(random: Random, length: number, extras: readonly string[]): string {
  const pieces = [' ', '  ', '\n', '\t', "'s", "'LL", '123', ' the', ...extras];
  let text = '';
  for (let i = 0; i < length; i++) {
    if (random.nextInt(6) === 0) {
      text += pieces[random.nextInt(pieces.length)];
    } else {
      const [low, high] = RANGES[random.nextInt(RANGES.length)];
      text += String.fromCodePoint(low + random.nextInt(high - low + 1));
    }
  }
  return text;
}

export function randomTexts(seed: number, count: number, extras: readonly string[]): string[] {
  const random = mulberry32(seed);
  return Array.from({ length: count }, () => randomText(random, 1 + random.nextInt(40), extras));
}

/** About 20 KB of the bundled corpora (prose of several eras), with their punctuation and line breaks. */
export function corpusSlice(): string {
  return bundledDocuments()
    .filter((_, i) => i % 20 === 7)
    .map((d) => d.text.slice(0, 1200))
    .join('\n\n');
}
