/** The math/code heuristic: code fences, math notation and a keyword list. Pure. */

/** Why the heuristic fired, or undefined. */
export type HeuristicHit = 'code' | 'math' | 'keyword';

/** A compiled detector; build it once at start-up. */
export interface Heuristic {
  /** What the text shows, or undefined when it looks like neither math nor code. */
  detect(text: string): HeuristicHit | undefined;
}

const CODE = /```|~~~|^( {4}|\t)\S.*[;{}]\s*$|#include\s*<|\bdef \w+\(.*\)\s*:|\bfunction\s*\w*\s*\(.*\)\s*\{|=>\s*\{|\bpublic (static )?(void|class)\b/m;
const MATH = /\$\$|\\\(|\\\[|\\(frac|sum|int|prod|lim|sqrt|begin\{|mathbb|forall|exists|partial|nabla|infty|leq|geq)\b|[∑∫∏√∀∃∂∇∞≤≥≠≈∈⊂⊆∪∩]|\b[a-z]\s*\^\s*[0-9a-z(]|\b\d+\s*[+\-*/^]\s*\d+\s*=\s*|\b[a-z]\s*\(\s*[a-z]\s*\)\s*=/i;

/** Builds the detector for a keyword list (whole words or phrases, case-insensitive). */
export function buildHeuristic(keywords: readonly string[]): Heuristic {
  const parts = keywords
    .map((k) => k.trim())
    .filter(Boolean)
    .map((k) => k.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\s+/g, '\\s+'));
  const kw = parts.length ? new RegExp(`(?<![\\w-])(?:${parts.join('|')})(?![\\w-])`, 'i') : undefined;
  return {
    detect(text: string): HeuristicHit | undefined {
      if (CODE.test(text)) return 'code';
      if (MATH.test(text)) return 'math';
      if (kw && kw.test(text)) return 'keyword';
      return undefined;
    },
  };
}
