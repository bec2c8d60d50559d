/**
 * A small evaluator of the CloudWatch metric-math subset the stack emits, at one timestamp: numbers,
 * metric ids, + - * /, comparisons (< <= > >= == !=), AND/&&, OR/||, IF(cond, a, b) and FILL(x, v).
 *
 * Missing data follows the CloudWatch rules for one datapoint (using-metric-math.html): arithmetic and
 * comparisons treat a missing operand as 0 when the other has a value, and give no datapoint when
 * neither has one; division by zero drops the datapoint; FILL replaces a missing value.
 */

/** A datapoint value, `undefined` when the series has no datapoint at this timestamp. */
export type Value = number | undefined;

type Node =
  | { kind: 'num'; value: number }
  | { kind: 'id'; name: string }
  | { kind: 'call'; name: string; args: Node[] }
  | { kind: 'bin'; op: string; left: Node; right: Node }
  | { kind: 'neg'; arg: Node };

const TOKEN = /\s*(\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|[A-Za-z_][A-Za-z0-9_]*|<=|>=|==|!=|&&|\|\||[-+*/(),<>])/y;

function tokenize(text: string): string[] {
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < text.length) {
    if (/^\s*$/.test(text.slice(TOKEN.lastIndex))) break;
    const m = TOKEN.exec(text);
    if (!m) throw new Error(`metric math: cannot read "${text.slice(TOKEN.lastIndex)}" in "${text}"`);
    tokens.push(m[1]);
  }
  return tokens;
}

/** Parses an expression into a tree; throws on anything outside the supported subset. */
export function parse(text: string): Node {
  const tokens = tokenize(text);
  let i = 0;
  const peek = () => tokens[i];
  const take = (expected?: string) => {
    const t = tokens[i++];
    if (expected !== undefined && t !== expected) throw new Error(`metric math: expected "${expected}", got "${t}" in "${text}"`);
    return t;
  };
  const LEVELS: string[][] = [['OR', '||'], ['AND', '&&'], ['<', '<=', '>', '>=', '==', '!='], ['+', '-'], ['*', '/']];
  const binary = (level: number): Node => {
    if (level === LEVELS.length) return unary();
    let left = binary(level + 1);
    while (peek() !== undefined && LEVELS[level].includes(peek())) {
      const op = take();
      left = { kind: 'bin', op: op === '||' ? 'OR' : op === '&&' ? 'AND' : op, left, right: binary(level + 1) };
    }
    return left;
  };
  const unary = (): Node => {
    if (peek() === '-') {
      take();
      return { kind: 'neg', arg: unary() };
    }
    return primary();
  };
  const primary = (): Node => {
    const t = take();
    if (t === undefined) throw new Error(`metric math: unexpected end of "${text}"`);
    if (t === '(') {
      const inner = binary(0);
      take(')');
      return inner;
    }
    if (/^\d/.test(t)) return { kind: 'num', value: Number(t) };
    if (/^[A-Z][A-Z_]*$/.test(t) && peek() === '(') {
      take('(');
      const args: Node[] = [binary(0)];
      while (peek() === ',') {
        take(',');
        args.push(binary(0));
      }
      take(')');
      return { kind: 'call', name: t, args };
    }
    if (/^[a-z][A-Za-z0-9_]*$/.test(t)) return { kind: 'id', name: t };
    throw new Error(`metric math: unexpected "${t}" in "${text}"`);
  };
  const tree = binary(0);
  if (i !== tokens.length) throw new Error(`metric math: trailing "${tokens.slice(i).join(' ')}" in "${text}"`);
  return tree;
}

function binaryOp(op: string, a: Value, b: Value): Value {
  if (a === undefined && b === undefined) return undefined;
  const x = a ?? 0;
  const y = b ?? 0;
  switch (op) {
    case '+': return x + y;
    case '-': return x - y;
    case '*': return x * y;
    case '/': return y === 0 ? undefined : x / y;
    case '<': return Number(x < y);
    case '<=': return Number(x <= y);
    case '>': return Number(x > y);
    case '>=': return Number(x >= y);
    case '==': return Number(x === y);
    case '!=': return Number(x !== y);
    case 'AND': return Number(x !== 0 && y !== 0);
    case 'OR': return Number(x !== 0 || y !== 0);
    default: throw new Error(`metric math: operator ${op}`);
  }
}

const parsed = new Map<string, Node>();

/** Evaluates an expression with each id's value from `lookup`. */
export function evaluate(text: string, lookup: (id: string) => Value): Value {
  let tree = parsed.get(text);
  if (!tree) {
    tree = parse(text);
    parsed.set(text, tree);
  }
  const run = (n: Node): Value => {
    switch (n.kind) {
      case 'num': return n.value;
      case 'id': return lookup(n.name);
      case 'neg': {
        const v = run(n.arg);
        return v === undefined ? undefined : -v;
      }
      case 'bin': return binaryOp(n.op, run(n.left), run(n.right));
      case 'call': {
        if (n.name === 'FILL' && n.args.length === 2) return run(n.args[0]) ?? run(n.args[1]);
        if (n.name === 'IF' && n.args.length === 3) {
          const c = run(n.args[0]);
          if (c === undefined) return undefined;
          return c !== 0 ? run(n.args[1]) : run(n.args[2]);
        }
        throw new Error(`metric math: function ${n.name}/${n.args.length} is outside the supported subset`);
      }
    }
  };
  return run(tree);
}

/** One entry of a template's `Metrics` array (alarm or target-tracking metric data query). */
export interface MetricQuery {
  readonly Id: string;
  readonly Expression?: string;
  readonly MetricStat?: { Metric: { Namespace: string; MetricName: string; Dimensions?: { Name: string; Value: unknown }[] }; Stat: string; Period?: number };
  readonly ReturnData?: boolean;
}

/** A metric the queries read: what a test supplies a value for. */
export interface MetricRef {
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: Record<string, unknown>;
  readonly stat: string;
}

/**
 * The value of the query that returns data (the one without `ReturnData: false`), with each metric's
 * value from `valueOf`.
 */
export function evaluateQueries(queries: readonly MetricQuery[], valueOf: (metric: MetricRef) => Value): Value {
  const byId = new Map(queries.map((q) => [q.Id, q]));
  const cache = new Map<string, Value>();
  const lookup = (id: string): Value => {
    if (cache.has(id)) return cache.get(id);
    const q = byId.get(id);
    if (!q) throw new Error(`metric math: unknown id ${id}`);
    let v: Value;
    if (q.Expression !== undefined) {
      v = evaluate(q.Expression, lookup);
    } else if (q.MetricStat) {
      const m = q.MetricStat.Metric;
      v = valueOf({
        namespace: m.Namespace,
        metricName: m.MetricName,
        dimensions: Object.fromEntries((m.Dimensions ?? []).map((d) => [d.Name, d.Value])),
        stat: q.MetricStat.Stat,
      });
    } else {
      throw new Error(`metric math: query ${id} has neither an expression nor a metric`);
    }
    cache.set(id, v);
    return v;
  };
  const returned = queries.filter((q) => q.ReturnData !== false);
  if (returned.length !== 1) throw new Error(`metric math: expected one query returning data, got ${returned.length}`);
  return lookup(returned[0].Id);
}
