/**
 * Keys given twice in one object of a JSON text. JSON.parse keeps the last silently, so a mapping pasted as a
 * second `"intake": { … }` beside an existing one would drop the first one's settings without a word. The text
 * is already known to be valid JSON: this walks it only to see the keys.
 */
export function duplicateKeys(text: string): Array<{ path: string; line: number }> {
  const found: Array<{ path: string; line: number }> = [];
  let i = 0;
  const space = () => {
    while (i < text.length && /\s/.test(text[i] as string)) i += 1;
  };
  const string = (): string => {
    const start = i;
    i += 1;
    while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i += 1;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (path: readonly string[]): void => {
    space();
    const c = text[i];
    if (c === '{' || c === '[') {
      i += 1;
      space();
      if (text[i] === (c === '{' ? '}' : ']')) {
        i += 1;
        return;
      }
      const seen = new Set<string>();
      for (let n = 0; ; n += 1) {
        space();
        let key = String(n);
        if (c === '{') {
          const at = i;
          key = string();
          if (seen.has(key)) found.push({ path: [...path, key].join('.'), line: text.slice(0, at).split('\n').length });
          seen.add(key);
          space();
          i += 1; // the colon
        }
        value([...path, key]);
        space();
        const next = text[i];
        i += 1;
        if (next !== ',') return;
      }
    }
    if (c === '"') {
      string();
      return;
    }
    while (i < text.length && !/[\s,\]}]/.test(text[i] as string)) i += 1;
  };
  value([]);
  return found;
}
