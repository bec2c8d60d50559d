/**
 * The part of CloudWatch metric math that scaling alarms use, evaluated one period at a time
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html):
 * arithmetic, comparisons, `AND`/`OR`/`NOT`, `IF(cond, a[, b])`, `FILL(m, value)`, `ABS`, `CEIL`,
 * `FLOOR`, and `MAX`/`MIN`/`SUM`/`AVG` of a `[list]`. A missing datapoint is `undefined`: arithmetic
 * on it is missing (CloudWatch only returns timestamps where every operand has data), `FILL` replaces
 * it. Anything else is refused with the function's name, so a template is never simulated on a guess.
 */

/** A parsed expression. */
export type Expr =
  | { readonly kind: 'num'; readonly value: number }
  | { readonly kind: 'id'; readonly name: string }
  | { readonly kind: 'unary'; readonly op: '-' | 'NOT'; readonly arg: Expr }
  | { readonly kind: 'binary'; readonly op: string; readonly left: Expr; readonly right: Expr }
  | { readonly kind: 'call'; readonly fn: string; readonly args: readonly Expr[] }
  | { readonly kind: 'list'; readonly items: readonly Expr[] };

/** Functions this evaluator implements. */
export const MATH_FUNCTIONS = ['IF', 'FILL', 'ABS', 'CEIL', 'FLOOR', 'MAX', 'MIN', 'SUM', 'AVG'] as const;

type Token = { t: 'num'; v: number } | { t: 'id'; v: string } | { t: 'op'; v: string };

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const num = /^(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?/.exec(text.slice(i));
    if (num) {
      out.push({ t: 'num', v: Number(num[0]) });
      i += num[0].length;
      continue;
    }
    const id = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i));
    if (id) {
      out.push({ t: 'id', v: id[0] });
      i += id[0].length;
      continue;
    }
    const two = text.slice(i, i + 2);
    if (['<=', '>=', '==', '!=', '&&', '||'].includes(two)) {
      out.push({ t: 'op', v: two });
      i += 2;
      continue;
    }
    if ('+-*/^()<>,[]!'.includes(c)) {
      out.push({ t: 'op', v: c });
      i++;
      continue;
    }
    throw new Error(`unexpected character ${JSON.stringify(c)} at ${i}`);
  }
  return out;
}

const BINARY_PRECEDENCE: Record<string, number> = {
  OR: 1, '||': 1,
  AND: 2, '&&': 2,
  '==': 3, '!=': 3, '<': 3, '<=': 3, '>': 3, '>=': 3,
  '+': 4, '-': 4,
  '*': 5, '/': 5,
  '^': 6,
};

/** Parses a metric math expression; throws with the position of the first thing it cannot read. */
export function parseExpression(text: string): Expr {
  const tokens = tokenize(text);
  let pos = 0;
  const peek = (): Token | undefined => tokens[pos];
  const expectOp = (v: string): void => {
    const tok = tokens[pos++];
    if (!tok || tok.t !== 'op' || tok.v !== v) throw new Error(`expected "${v}"`);
  };
  const binaryOp = (tok: Token | undefined): string | undefined => {
    if (!tok) return undefined;
    if (tok.t === 'op' && tok.v in BINARY_PRECEDENCE) return tok.v;
    if (tok.t === 'id' && (tok.v.toUpperCase() === 'AND' || tok.v.toUpperCase() === 'OR')) return tok.v.toUpperCase();
    return undefined;
  };
  const parseList = (close: string): Expr[] => {
    const items: Expr[] = [];
    const next = peek();
    if (next && next.t === 'op' && next.v === close) {
      pos++;
      return items;
    }
    for (;;) {
      items.push(parseBinary(0));
      const tok = tokens[pos++];
      if (tok && tok.t === 'op' && tok.v === ',') continue;
      if (tok && tok.t === 'op' && tok.v === close) return items;
      throw new Error(`expected "," or "${close}"`);
    }
  };
  const parsePrimary = (): Expr => {
    const tok = tokens[pos++];
    if (!tok) throw new Error('unexpected end of expression');
    if (tok.t === 'num') return { kind: 'num', value: tok.v };
    if (tok.t === 'op' && tok.v === '(') {
      const e = parseBinary(0);
      expectOp(')');
      return e;
    }
    if (tok.t === 'op' && tok.v === '[') return { kind: 'list', items: parseList(']') };
    if (tok.t === 'op' && (tok.v === '-' || tok.v === '!')) {
      return { kind: 'unary', op: tok.v === '-' ? '-' : 'NOT', arg: parseBinary(BINARY_PRECEDENCE['*']) };
    }
    if (tok.t === 'id') {
      const next = peek();
      if (tok.v.toUpperCase() === 'NOT' && !(next && next.t === 'op' && next.v === '(')) {
        return { kind: 'unary', op: 'NOT', arg: parseBinary(BINARY_PRECEDENCE['==']) };
      }
      if (next && next.t === 'op' && next.v === '(') {
        pos++;
        const fn = tok.v.toUpperCase();
        const args = parseList(')');
        if (fn === 'NOT') {
          if (args.length !== 1) throw new Error('NOT takes one argument');
          return { kind: 'unary', op: 'NOT', arg: args[0] };
        }
        if (!(MATH_FUNCTIONS as readonly string[]).includes(fn)) {
          throw new Error(`function ${tok.v} is not modelled (supported: NOT, ${MATH_FUNCTIONS.join(', ')})`);
        }
        return { kind: 'call', fn, args };
      }
      return { kind: 'id', name: tok.v };
    }
    throw new Error(`unexpected "${tok.v}"`);
  };
  const parseBinary = (minPrec: number): Expr => {
    let left = parsePrimary();
    for (;;) {
      const op = binaryOp(peek());
      if (op === undefined) return left;
      const prec = BINARY_PRECEDENCE[op];
      if (prec < minPrec) return left;
      pos++;
      const right = parseBinary(op === '^' ? prec : prec + 1);
      left = { kind: 'binary', op, left, right };
    }
  };
  const expr = parseBinary(0);
  if (pos < tokens.length) {
    const tok = tokens[pos];
    throw new Error(`unexpected "${tok.t === 'num' ? tok.v : tok.v}" after a complete expression`);
  }
  return expr;
}

/** Identifiers an expression refers to (the ids of other queries). */
export function referencedIds(expr: Expr): string[] {
  const out = new Set<string>();
  const walk = (e: Expr): void => {
    switch (e.kind) {
      case 'id':
        out.add(e.name);
        break;
      case 'unary':
        walk(e.arg);
        break;
      case 'binary':
        walk(e.left);
        walk(e.right);
        break;
      case 'call':
        e.args.forEach(walk);
        break;
      case 'list':
        e.items.forEach(walk);
        break;
      case 'num':
        break;
    }
  };
  walk(expr);
  return [...out];
}

type Value = number | undefined;

const truth = (v: number): boolean => v !== 0;

/** Evaluates `expr` for one period; `lookup` gives each id's datapoint (undefined when missing). */
export function evaluateExpression(expr: Expr, lookup: (id: string) => Value): Value {
  const ev = (e: Expr): Value => {
    switch (e.kind) {
      case 'num':
        return e.value;
      case 'id':
        return lookup(e.name);
      case 'unary': {
        const v = ev(e.arg);
        if (v === undefined) return undefined;
        return e.op === '-' ? -v : truth(v) ? 0 : 1;
      }
      case 'binary': {
        const a = ev(e.left);
        const b = ev(e.right);
        if (a === undefined || b === undefined) return undefined;
        switch (e.op) {
          case '+': return a + b;
          case '-': return a - b;
          case '*': return a * b;
          case '/': return b === 0 ? undefined : a / b;
          case '^': return a ** b;
          case '<': return a < b ? 1 : 0;
          case '<=': return a <= b ? 1 : 0;
          case '>': return a > b ? 1 : 0;
          case '>=': return a >= b ? 1 : 0;
          case '==': return a === b ? 1 : 0;
          case '!=': return a !== b ? 1 : 0;
          case 'AND': case '&&': return truth(a) && truth(b) ? 1 : 0;
          case 'OR': case '||': return truth(a) || truth(b) ? 1 : 0;
        }
        throw new Error(`operator ${e.op} is not modelled`);
      }
      case 'list':
        throw new Error('a [list] is only valid inside MAX, MIN, SUM or AVG');
      case 'call':
        return call(e.fn, e.args);
    }
  };
  const call = (fn: string, args: readonly Expr[]): Value => {
    const arity = (n: number, m = n) => {
      if (args.length < n || args.length > m) throw new Error(`${fn} takes ${n === m ? n : `${n} or ${m}`} arguments, got ${args.length}`);
    };
    switch (fn) {
      case 'IF': {
        arity(2, 3);
        const c = ev(args[0]);
        if (c === undefined) return undefined;
        if (truth(c)) return ev(args[1]);
        return args.length === 3 ? ev(args[2]) : undefined;
      }
      case 'FILL': {
        arity(2);
        const fill = args[1];
        if (fill.kind !== 'num' && !(fill.kind === 'unary' && fill.op === '-' && fill.arg.kind === 'num')) {
          throw new Error('FILL is modelled with a constant fill value only (not REPEAT or LINEAR)');
        }
        const v = ev(args[0]);
        return v === undefined ? ev(fill) : v;
      }
      case 'ABS': arity(1); return map1(ev(args[0]), Math.abs);
      case 'CEIL': arity(1); return map1(ev(args[0]), Math.ceil);
      case 'FLOOR': arity(1); return map1(ev(args[0]), Math.floor);
      case 'MAX': case 'MIN': case 'SUM': case 'AVG': {
        arity(1);
        const list = args[0];
        // Of one time series these return one scalar for the whole query range, not a value per period.
        if (list.kind !== 'list') throw new Error(`${fn} of a single time series is not modelled (use ${fn}([a, b]) for a value per period)`);
        const values = list.items.map(ev).filter((v): v is number => v !== undefined);
        if (values.length === 0) return undefined;
        if (fn === 'MAX') return Math.max(...values);
        if (fn === 'MIN') return Math.min(...values);
        const sum = values.reduce((s, v) => s + v, 0);
        return fn === 'SUM' ? sum : sum / values.length;
      }
    }
    throw new Error(`function ${fn} is not modelled`);
  };
  return ev(expr);
}

function map1(v: Value, f: (x: number) => number): Value {
  return v === undefined ? undefined : f(v);
}
