/** A piece of a word diff: kept, deleted from the old text, or added. */
export interface DiffPart {
  kind: 'same' | 'del' | 'add';
  text: string;
}

/** Largest token product for the LCS table; past it, whole replacement. */
const maxCells = 4_000_000;

/**
 * Word-level diff of `before` and `after` (words and the spaces between
 * them are tokens), for previewing a rewrite. Joining the 'same' and 'del'
 * parts gives `before`; joining 'same' and 'add' gives `after`.
 */
export function wordDiff(before: string, after: string): DiffPart[] {
  const a = tokens(before);
  const b = tokens(after);
  if (a.length * b.length > maxCells) return merge([{ kind: 'del', text: before }, { kind: 'add', text: after }]);
  // lcs[i][j]: longest common subsequence of a[i..] and b[j..].
  const width = b.length + 1;
  const lcs = new Uint32Array((a.length + 1) * width);
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i * width + j] = a[i] === b[j] ? lcs[(i + 1) * width + j + 1]! + 1 : Math.max(lcs[(i + 1) * width + j]!, lcs[i * width + j + 1]!);
    }
  }
  const parts: DiffPart[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      parts.push({ kind: 'same', text: a[i++]! });
      j++;
    } else if (lcs[(i + 1) * width + j]! >= lcs[i * width + j + 1]!) parts.push({ kind: 'del', text: a[i++]! });
    else parts.push({ kind: 'add', text: b[j++]! });
  }
  while (i < a.length) parts.push({ kind: 'del', text: a[i++]! });
  while (j < b.length) parts.push({ kind: 'add', text: b[j++]! });
  return merge(parts);
}

function tokens(text: string): string[] {
  return text.match(/\s+|[^\s]+/gu) ?? [];
}

/** Joins neighbours of the same kind and drops empty parts. */
function merge(parts: DiffPart[]): DiffPart[] {
  const merged: DiffPart[] = [];
  for (const part of parts) {
    if (part.text === '') continue;
    const last = merged[merged.length - 1];
    if (last && last.kind === part.kind) last.text += part.text;
    else merged.push({ ...part });
  }
  return merged;
}
