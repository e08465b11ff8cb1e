import ts from 'typescript';
import {
  anyNode,
  applyEdits,
  compact,
  defaultForUsage,
  descendants,
  enclosingFunction,
  enclosingListStatement,
  functionName,
  indentAt,
  indentUnit,
  insideLoop,
  isAsync,
  isFunctionNode,
  isSimpleReference,
  lineOf,
  lineStartAt,
  nodeStartingOn,
  nodesOnLine,
  parseSource,
  returnFallback,
  rootIdentifier,
  textOf,
  usageOf,
  type FunctionNode,
  type ReturnTypeLookup,
  type TextEdit,
} from './ast';
import type { Strategy } from './rules';
import type { TypeOracle } from './typecheck';

/** Where and what to fix: one file at one commit, the line the fix belongs to, and the error. */
export interface TemplateInput {
  readonly file: string;
  readonly source: string;
  /** 1-based line of the fix site (the crash line, or the caller line the localiser chose). */
  readonly line: number;
  readonly errorClass: string;
  readonly errorType: string;
  readonly message: string;
  readonly captures: Readonly<Record<string, string>>;
  /** The expression the localiser holds to carry the bad value at this line, when it found one. */
  readonly suspect?: string;
  /**
   * The type checker's view of this file at the commit (`TypeProject.oracle`), so early returns
   * and defaults fit the declared or inferred return type; without it they follow the annotation,
   * the other returns and the callers in the file.
   */
  readonly types?: TypeOracle;
}

/** One rewrite a template produced: the whole new file text and why. */
export interface TemplateResult {
  readonly strategy: Strategy;
  readonly after: string;
  readonly rationale: string;
  /** How much this template variant is trusted for this input, 0..1, before the rule's confidence. */
  readonly prior: number;
}

type Family = 'nullish' | 'iterable' | 'function' | 'string' | 'validity' | 'throws' | 'other';

const FAMILY: Readonly<Record<string, Family>> = {
  'TypeError:undefined-property-access': 'nullish',
  'TypeError:undefined-property-write': 'nullish',
  'TypeError:destructure-undefined': 'nullish',
  'TypeError:object-conversion-null': 'nullish',
  'TypeError:ERR_INVALID_ARG_TYPE': 'validity',
  'TypeError:not-iterable': 'iterable',
  'TypeError:array-method-on-non-array': 'iterable',
  'TypeError:not-a-function': 'function',
  'TypeError:string-method-on-non-string': 'string',
  'RangeError:invalid-array-length': 'validity',
  'RangeError:invalid-date': 'validity',
  'Error:invalid-date': 'validity',
  'RangeError:invalid-code-point': 'validity',
  'RangeError:number-format-digits': 'validity',
  'TypeError:invalid-url': 'validity',
  'Error:NaN': 'validity',
};

/**
 * Runs one fix template on one file. Returns every variant it could build (possibly none: a
 * template that does not fit the code at that line produces nothing rather than a guess).
 * Pure and deterministic; the output keeps the file's formatting outside the edited ranges.
 */
export function applyTemplate(strategy: Strategy, input: TemplateInput): TemplateResult[] {
  const sf = parseSource(input.file, input.source);
  const types = input.types;
  const checked: ReturnTypeLookup | undefined = types ? (fn) => types.fallbackAt(fn.getStart(sf)) : undefined;
  const ctx: Ctx = { sf, input, unit: indentUnit(sf), family: FAMILY[input.errorClass] ?? (isThrowing(input.errorClass) ? 'throws' : 'other'), ...(checked ? { checked } : {}) };
  const build = BUILDERS[strategy];
  const out: TemplateResult[] = [];
  const seen = new Set<string>();
  for (const variant of build(ctx)) {
    let after: string;
    try {
      after = applyEdits(input.source, variant.edits);
    } catch {
      continue;
    }
    if (after === input.source || seen.has(after)) continue;
    if (hasNewSyntaxErrors(input.file, input.source, after)) continue;
    seen.add(after);
    out.push({ strategy, after, rationale: variant.rationale, prior: variant.prior });
  }
  return out;
}

function isThrowing(errorClass: string): boolean {
  return /json-parse|invalid-regexp|URIError|ENOENT|EACCES|ECONNREFUSED|ETIMEDOUT|circular-json|unhandled-rejection|invalid-url/.test(errorClass);
}

function hasNewSyntaxErrors(file: string, before: string, after: string): boolean {
  const count = (text: string): number => (parseSource(file, text) as unknown as { parseDiagnostics: unknown[] }).parseDiagnostics.length;
  return count(after) > count(before);
}

interface Ctx {
  readonly sf: ts.SourceFile;
  readonly input: TemplateInput;
  readonly unit: string;
  readonly family: Family;
  readonly checked?: ReturnTypeLookup;
}

interface Variant {
  readonly edits: readonly TextEdit[];
  readonly rationale: string;
  readonly prior: number;
}

const BUILDERS: Readonly<Record<Strategy, (ctx: Ctx) => Variant[]>> = {
  'optional-chaining': optionalChaining,
  'guard-clause': (ctx) => guardOrValidate(ctx, 'guard'),
  'input-validation': (ctx) => guardOrValidate(ctx, 'validate'),
  'nullish-default': nullishDefault,
  'default-parameter': defaultParameter,
  'array-check': arrayCheck,
  'typeof-function-check': typeofFunctionCheck,
  'try-catch-fallback': tryCatchFallback,
  'await-insertion': awaitInsertion,
  'string-coercion': stringCoercion,
  'const-to-let': constToLet,
  'rename-to-declared': renameToDeclared,
};

// ---------------------------------------------------------------------------------------------
// Finding the value that was bad at the fix line.

/** The bad value at the line: the expression, and the access that failed on it (if any). */
interface Subject {
  readonly expr: ts.Expression;
  readonly access?: ts.Node;
}

function calleeText(ctx: Ctx, call: ts.CallExpression): string {
  return compact(textOf(ctx.sf, call.expression));
}

function callsOnLine(ctx: Ctx): ts.CallExpression[] {
  return nodesOnLine(ctx.sf, ctx.input.line, ts.isCallExpression);
}

function bySuspect(ctx: Ctx): Subject | undefined {
  const suspect = ctx.input.suspect;
  if (!suspect) return undefined;
  const want = compact(suspect);
  const found = nodesOnLine(ctx.sf, ctx.input.line, (n): n is ts.Expression => ts.isExpression(n) && compact(textOf(ctx.sf, n)) === want);
  const expr = found[0];
  return expr ? { expr } : undefined;
}

function subjectOf(ctx: Ctx): Subject | undefined {
  const { captures } = ctx.input;
  const suspect = bySuspect(ctx);
  switch (ctx.input.errorClass) {
    case 'TypeError:undefined-property-access':
    case 'TypeError:undefined-property-write': {
      const prop = captures['prop'];
      const accesses = nodesOnLine(ctx.sf, ctx.input.line, (n): n is ts.PropertyAccessExpression | ts.ElementAccessExpression =>
        (ts.isPropertyAccessExpression(n) && n.name.text === prop) ||
        (ts.isElementAccessExpression(n) && (ts.isStringLiteral(n.argumentExpression) || ts.isNumericLiteral(n.argumentExpression)) && n.argumentExpression.text === prop),
      ).filter((n) => lineOf(ctx.sf, (ts.isPropertyAccessExpression(n) ? n.name : n.argumentExpression).getStart(ctx.sf)) === ctx.input.line);
      const preferred = suspect ? accesses.find((a) => compact(textOf(ctx.sf, a.expression)) === compact(textOf(ctx.sf, suspect.expr))) : undefined;
      // The innermost access reads first: in `a.b.c` with prop `c`, the outer node is `a.b.c`; choose the last found (deepest) only when names repeat.
      const access = preferred ?? accesses[accesses.length - 1];
      if (access) return { expr: access.expression, access };
      if (ctx.input.errorClass === 'TypeError:undefined-property-write') {
        const target = nodesOnLine(ctx.sf, ctx.input.line, (n): n is ts.PropertyAccessExpression | ts.ElementAccessExpression =>
          (ts.isElementAccessExpression(n) || ts.isPropertyAccessExpression(n)) && isWriteTarget(n))[0];
        if (target) return { expr: target.expression, access: target };
      }
      return suspect;
    }
    case 'TypeError:destructure-undefined': {
      const decl = nodesOnLine(ctx.sf, ctx.input.line, ts.isVariableDeclaration).find((d) => ts.isObjectBindingPattern(d.name) && d.initializer);
      if (decl?.initializer) return { expr: decl.initializer, access: decl };
      return suspect;
    }
    case 'TypeError:object-conversion-null': {
      const call = callsOnLine(ctx).find((c) => /^Object\.(keys|values|entries|assign|getOwnPropertyNames|freeze)$/.test(calleeText(ctx, c)));
      const arg = call?.arguments[call.arguments.length > 1 && calleeText(ctx, call) === 'Object.assign' ? 1 : 0];
      return arg ? { expr: arg, access: call } : suspect;
    }
    case 'TypeError:array-method-on-non-array':
    case 'TypeError:string-method-on-non-string': {
      const method = captures['method'];
      const callee = captures['callee'] ?? '';
      const calls = callsOnLine(ctx).filter((c) => ts.isPropertyAccessExpression(c.expression) && c.expression.name.text === method);
      const call = calls.find((c) => compact(textOf(ctx.sf, (c.expression as ts.PropertyAccessExpression).expression)) === compact(callee)) ?? calls[0];
      return call ? { expr: (call.expression as ts.PropertyAccessExpression).expression, access: call } : suspect;
    }
    case 'TypeError:not-iterable': {
      const name = captures['name'];
      const loops = nodesOnLine(ctx.sf, ctx.input.line, (n): n is ts.ForOfStatement | ts.SpreadElement => ts.isForOfStatement(n) || ts.isSpreadElement(n));
      const exprs = loops.map((l) => l.expression).filter((e) => lineOf(ctx.sf, e.getStart(ctx.sf)) === ctx.input.line);
      const named = exprs.find((e) => textOf(ctx.sf, e) === name);
      const expr = named ?? exprs[0];
      return expr ? { expr, access: expr.parent } : suspect;
    }
    case 'TypeError:not-a-function': {
      const callee = compact(captures['callee'] ?? '');
      const call = callsOnLine(ctx).find((c) => calleeText(ctx, c) === callee) ?? callsOnLine(ctx).find((c) => callee.endsWith(calleeText(ctx, c)));
      return call ? { expr: call.expression, access: call } : suspect;
    }
    default:
      return suspect;
  }
}

// ---------------------------------------------------------------------------------------------
// Validity predicates: what "a usable value" means for the call that threw.

interface Validity {
  /** The node to guard (its statement is where the check goes). */
  readonly anchor: ts.Node;
  /** Insert the check after the anchor's statement instead of before it. */
  readonly after?: boolean;
  readonly valid: string;
  readonly errorType: 'RangeError' | 'TypeError';
  readonly describe: string;
}

function validityOf(ctx: Ctx): Validity | undefined {
  const { sf, input } = ctx;
  const t = (n: ts.Node): string => textOf(sf, n);
  const calls = callsOnLine(ctx);
  const news = nodesOnLine(sf, input.line, ts.isNewExpression);
  const simpleArg = (args: ts.NodeArray<ts.Expression> | undefined, i = 0): ts.Expression | undefined => {
    const a = args?.[i];
    return a && isSimpleReference(a) ? a : undefined;
  };
  switch (input.errorClass) {
    case 'RangeError:invalid-array-length': {
      const n = news.find((x) => t(x.expression) === 'Array') ?? calls.find((c) => t(c.expression) === 'Array');
      const arg = simpleArg(n?.arguments);
      if (!n || !arg) return undefined;
      const a = t(arg);
      return { anchor: n, valid: `Number.isInteger(${a}) && ${a} >= 0`, errorType: 'RangeError', describe: `expected ${a} to be a non-negative integer, got \${${a}}` };
    }
    case 'RangeError:invalid-date':
    case 'Error:invalid-date': {
      const dateNew = news.find((x) => t(x.expression) === 'Date' && x.arguments?.length === 1) ?? functionNews(ctx, 'Date');
      const arg = simpleArg(dateNew?.arguments);
      if (dateNew && arg) {
        const a = t(arg);
        return { anchor: dateNew, valid: `!Number.isNaN(new Date(${a}).getTime())`, errorType: 'RangeError', describe: `expected ${a} to be a valid date, got \${JSON.stringify(${a})}` };
      }
      const fmt = calls.find((c) => ts.isPropertyAccessExpression(c.expression) && /^(toISOString|toLocaleDateString|toLocaleString|toJSON)$/.test(c.expression.name.text));
      const recv = fmt && ts.isPropertyAccessExpression(fmt.expression) ? fmt.expression.expression : undefined;
      if (fmt && recv && isSimpleReference(recv)) {
        const d = t(recv);
        return { anchor: fmt, valid: `!Number.isNaN(${d}.getTime())`, errorType: 'RangeError', describe: `expected ${d} to be a valid date` };
      }
      return undefined;
    }
    case 'RangeError:invalid-code-point': {
      const c = calls.find((x) => t(x.expression) === 'String.fromCodePoint');
      const arg = simpleArg(c?.arguments);
      if (!c || !arg) return nanValidity(ctx);
      const a = t(arg);
      return { anchor: c, valid: `Number.isInteger(${a}) && ${a} >= 0 && ${a} <= 0x10ffff`, errorType: 'RangeError', describe: `expected ${a} to be a Unicode code point, got \${${a}}` };
    }
    case 'RangeError:number-format-digits': {
      const c = calls.find((x) => ts.isPropertyAccessExpression(x.expression) && /^(toFixed|toPrecision|toExponential)$/.test(x.expression.name.text));
      const arg = simpleArg(c?.arguments);
      if (!c || !arg) return undefined;
      const a = t(arg);
      const min = ts.isPropertyAccessExpression(c.expression) && c.expression.name.text === 'toPrecision' ? 1 : 0;
      return { anchor: c, valid: `Number.isInteger(${a}) && ${a} >= ${min} && ${a} <= 100`, errorType: 'RangeError', describe: `expected ${a} to be an integer between ${min} and 100, got \${${a}}` };
    }
    case 'TypeError:invalid-url': {
      const n = news.find((x) => t(x.expression) === 'URL');
      const arg = simpleArg(n?.arguments);
      if (!n || !arg) return undefined;
      const base = simpleArg(n.arguments, 1);
      const a = t(arg);
      return { anchor: n, valid: base ? `URL.canParse(${a}, ${t(base)})` : `URL.canParse(${a})`, errorType: 'TypeError', describe: `expected ${a} to be an absolute URL, got \${JSON.stringify(${a})}` };
    }
    case 'TypeError:ERR_INVALID_ARG_TYPE': {
      const expected = /must be of type (\w+)/.exec(input.message)?.[1];
      const c = calls.find((x) => x.arguments.length > 0 && x.arguments.some((a) => isSimpleReference(a) && !ts.isStringLiteral(a)));
      const arg = c?.arguments.find((a) => isSimpleReference(a));
      if (!c || !arg) return undefined;
      const a = t(arg);
      const valid = expected && ['string', 'number', 'function', 'object', 'boolean'].includes(expected) ? `typeof ${a} === '${expected}'` : `${a} != null`;
      return { anchor: c, valid, errorType: 'TypeError', describe: `expected ${a} to be ${expected ? `a ${expected}` : 'set'}, got \${typeof ${a}}` };
    }
    case 'Error:NaN':
      return nanValidity(ctx);
    default:
      return undefined;
  }
}

/** A `new X(...)` in the function at the fix line, on or before it (for errors raised later than the bad construction). */
function functionNews(ctx: Ctx, ctor: string): ts.NewExpression | undefined {
  const here = nodeStartingOn(ctx.sf, ctx.input.line);
  const fn = here && enclosingFunction(here);
  if (!fn?.body) return undefined;
  return descendants(fn.body, ts.isNewExpression)
    .filter((n) => textOf(ctx.sf, n.expression) === ctor && n.arguments?.length === 1 && isSimpleReference(n.arguments[0]!) && lineOf(ctx.sf, n.getStart(ctx.sf)) <= ctx.input.line)
    .pop();
}

/** A number parsed from input in the function at the fix line, before the line: checked right after it is parsed. */
function nanValidity(ctx: Ctx): Validity | undefined {
  const here = nodeStartingOn(ctx.sf, ctx.input.line);
  const fn = here && enclosingFunction(here);
  if (!fn?.body) return undefined;
  const parses = descendants(fn.body, ts.isVariableDeclaration).filter((d) => {
    if (!ts.isIdentifier(d.name) || !d.initializer || lineOf(ctx.sf, d.getStart(ctx.sf)) > ctx.input.line) return false;
    const init = d.initializer;
    if (ts.isPrefixUnaryExpression(init) && init.operator === ts.SyntaxKind.PlusToken) return true;
    return ts.isCallExpression(init) && /^(Number|parseInt|parseFloat|Number\.parseInt|Number\.parseFloat)$/.test(textOf(ctx.sf, init.expression));
  });
  const decl = parses[parses.length - 1];
  if (!decl || !ts.isIdentifier(decl.name) || !decl.initializer) return undefined;
  const v = decl.name.text;
  const init = decl.initializer;
  const source = ts.isCallExpression(init) ? init.arguments[0] : ts.isPrefixUnaryExpression(init) ? init.operand : undefined;
  const shown = source && isSimpleReference(source) ? `\${JSON.stringify(${textOf(ctx.sf, source)})}` : `\${${v}}`;
  return { anchor: decl, after: true, valid: `!Number.isNaN(${v})`, errorType: 'RangeError', describe: `expected ${source ? textOf(ctx.sf, source) : v} to be a number, got ${shown}` };
}

// ---------------------------------------------------------------------------------------------
// Guards and validations.

/** `continue;` in a loop, else `return <the function's fallback>;`; undefined when no value fits the function's contract. */
function exitFor(ctx: Ctx, at: ts.Node, fn: FunctionNode): string | undefined {
  if (insideLoop(at) && enclosingFunction(at) === fn) return 'continue;';
  const f = returnFallback(fn, ctx.checked);
  if (f.kind === 'none') return undefined;
  return f.kind === 'void' ? 'return;' : `return ${f.text};`;
}

/** Why no early return fits `fn` (for a rationale), or undefined when one does. */
function noFallback(ctx: Ctx, fn: FunctionNode): string | undefined {
  const f = returnFallback(fn, ctx.checked);
  return f.kind === 'none' ? f.type : undefined;
}

function declaresName(scope: ts.Node, name: string): boolean {
  let found = false;
  const visit = (n: ts.Node): void => {
    if (found) return;
    if ((ts.isVariableDeclaration(n) || ts.isParameter(n) || ts.isBindingElement(n)) && ts.isIdentifier(n.name) && n.name.text === name) found = true;
    ts.forEachChild(n, visit);
  };
  visit(scope);
  return found;
}

/**
 * Inserts `if (<bad>) <exit>` before the statement at the fix line (or, for a value produced in
 * an arrow's expression body, turns that body into a block with the guard). `exit` is built
 * from the function the check lands in.
 */
function insertCheck(ctx: Ctx, at: ts.Node, bad: string, exit: (fn: FunctionNode, at: ts.Node) => string | undefined, afterAnchor = false): TextEdit[] | undefined {
  const { sf, unit } = ctx;
  const fn = enclosingFunction(at);
  if (!fn) return undefined;
  const root = rootIdentifier(ts.isExpression(at) ? at : (at as ts.Expression));
  if (ts.isArrowFunction(fn) && !ts.isBlock(fn.body)) {
    const body = fn.body;
    const indent = indentAt(sf, body.getStart(sf));
    const inner = indent + unit;
    const exitText = exit(fn, at);
    if (exitText === undefined) return undefined;
    return [{ start: body.getStart(sf), end: body.end, text: `{\n${inner}if (${bad}) ${exitText}\n${inner}return ${textOf(sf, body)};\n${indent}}` }];
  }
  const stmt = enclosingListStatement(at);
  if (!stmt || ts.isSourceFile(stmt.parent)) return undefined;
  if (!afterAnchor && root && ts.isIdentifier(root) && declaresName(stmt, root.text) && !ts.isVariableStatement(stmt)) return undefined;
  if (!afterAnchor && root && ts.isVariableStatement(stmt) && stmt.declarationList.declarations.some((d) => ts.isIdentifier(d.name) && d.name.text === root.text)) return undefined;
  const indent = indentAt(sf, stmt.getStart(sf));
  const exitText = exit(fn, stmt);
  if (exitText === undefined) return undefined;
  const line = `${indent}if (${bad}) ${exitText}\n`;
  if (afterAnchor) {
    const next = sf.text.indexOf('\n', stmt.end);
    const pos = next === -1 ? sf.text.length : next + 1;
    return [{ start: pos, end: pos, text: next === -1 ? `\n${line}` : line }];
  }
  const pos = lineStartAt(sf, stmt.getStart(sf));
  return [{ start: pos, end: pos, text: line }];
}

function guardOrValidate(ctx: Ctx, mode: 'guard' | 'validate'): Variant[] {
  const { sf, input } = ctx;
  const fnLabel = (at: ts.Node): string => {
    const fn = enclosingFunction(at);
    return fn ? nameFor(fn) : 'the module';
  };
  const throwExit = (errorType: string, describe: string) => (fn: FunctionNode): string =>
    `throw new ${errorType}(\`${nameFor(fn)}: ${describe}\`);`;
  // A guard returns the function's fallback; where no value fits its contract, it throws a typed error naming the value instead (never `undefined` where callers need a value).
  let unfit: string | undefined;
  const guardExit = (throwing: (fn: FunctionNode) => string) => (fn: FunctionNode, at: ts.Node): string => {
    const exit = exitFor(ctx, at, fn);
    if (exit !== undefined) return exit;
    unfit = noFallback(ctx, fn);
    return throwing(fn);
  };
  const unfitNote = (fn: string): string => (unfit ? ` No early return fits ${fn}() (it returns ${unfit}), so it throws instead of returning undefined.` : '');
  const validity = ctx.family === 'validity' ? validityOf(ctx) : undefined;
  if (validity) {
    const bad = negate(validity.valid);
    const throwing = throwExit(validity.errorType, validity.describe);
    const exit = mode === 'guard' ? guardExit(throwing) : throwing;
    const edits = insertCheck(ctx, validity.anchor, bad, exit, validity.after);
    if (!edits) return [];
    const fn = fnLabel(validity.anchor);
    return [{
      edits,
      prior: mode === 'validate' ? 0.9 : unfit ? 0.6 : 0.8,
      rationale: mode === 'validate'
        ? `${fn}() now rejects the bad input up front with a ${validity.errorType} that names it (${input.errorType}: ${short(input.message)} was cryptic and raised deeper).`
        : unfit
          ? `${fn}() rejects unusable input (${validity.valid} does not hold) with a ${validity.errorType} that names it.${unfitNote(fn)}`
          : `${fn}() returns its neutral value early when the input is unusable (${validity.valid} does not hold) instead of throwing ${input.errorType}.`,
    }];
  }
  const subject = subjectOf(ctx);
  if (!subject || !isSimpleReference(subject.expr)) return [];
  const e = textOf(sf, subject.expr);
  let bad: string;
  let what: string;
  switch (ctx.family) {
    case 'nullish':
      bad = `${e} == null`;
      what = `${e} is undefined or null`;
      break;
    case 'iterable':
      bad = `!Array.isArray(${e})`;
      what = `${e} is not an array`;
      break;
    case 'function': {
      bad = `typeof ${e} !== 'function'`;
      what = `${e} is not a function`;
      break;
    }
    case 'string':
      bad = `typeof ${e} !== 'string'`;
      what = `${e} is not a string`;
      break;
    default:
      return [];
  }
  const throwing = (fn: FunctionNode): string => `throw new TypeError(\`${nameFor(fn)}: expected ${e} to be ${ctx.family === 'nullish' ? 'defined' : ctx.family === 'iterable' ? 'an array' : ctx.family === 'function' ? 'a function' : 'a string'}, got \${${e} === null ? 'null' : typeof ${e}}\`);`;
  const exit = mode === 'guard' ? guardExit(throwing) : throwing;
  const edits = insertCheck(ctx, subject.expr, bad, exit);
  if (!edits) return [];
  const fn = fnLabel(subject.expr);
  return [{
    edits,
    prior: mode === 'guard' ? (unfit ? 0.6 : 0.85) : 0.7,
    rationale: mode === 'guard'
      ? unfit
        ? `When ${what}, ${fn}() now fails with a TypeError that names the value instead of ${input.errorType}: ${short(input.message)}.${unfitNote(fn)}`
        : `When ${what}, ${fn}() now exits early with a value that fits its return type instead of throwing ${input.errorType}: ${short(input.message)}.`
      : `${fn}() now rejects the case where ${what} with a TypeError that names the value, instead of failing later with ${short(input.message)}.`,
  }];
}

// ---------------------------------------------------------------------------------------------
// Expression rewrites.

function optionalChaining(ctx: Ctx): Variant[] {
  const { sf } = ctx;
  const subject = subjectOf(ctx);
  if (!subject?.access) return [];
  const access = subject.access;
  const variants: Variant[] = [];
  if ((ts.isPropertyAccessExpression(access) || ts.isElementAccessExpression(access)) && !access.questionDotToken) {
    if (isWriteTarget(access)) return [];
    const insert = ts.isPropertyAccessExpression(access) ? '?' : '?.';
    const base: TextEdit = { start: access.expression.end, end: ts.isPropertyAccessExpression(access) ? access.expression.end : access.expression.end, text: insert };
    const outer = throughCasts(outermostChain(access));
    const fn = enclosingFunction(access);
    const f = fn && returnFallback(fn, ctx.checked);
    const isResult = (ts.isReturnStatement(outer.parent) && outer.parent.expression === outer) || (fn && ts.isArrowFunction(fn) && fn.body === outer);
    // A bare `?.` on the returned value returns undefined: only where undefined fits the function's contract.
    if (!(isResult && f?.kind === 'none')) {
      variants.push({ edits: [base], prior: 0.7, rationale: `Reads ${textOf(sf, access)} with optional chaining, so an undefined ${textOf(sf, access.expression)} yields undefined instead of a TypeError.` });
    }
    if (isResult && f?.kind === 'value' && f.known && f.text !== 'undefined') {
      variants.unshift({
        edits: [base, { start: outer.end, end: outer.end, text: ` ?? ${f.text}` }],
        prior: 0.8,
        rationale: `Reads ${textOf(sf, access)} with optional chaining and returns ${f.text} (the function's neutral value) when ${textOf(sf, access.expression)} is missing.`,
      });
    }
  } else if (ts.isCallExpression(access) && !access.questionDotToken && ctx.family === 'function') {
    variants.push({ edits: [{ start: access.expression.end, end: access.expression.end, text: '?.' }], prior: 0.75, rationale: `Calls ${textOf(sf, access.expression)} only when it is defined (optional call).` });
  }
  return variants;
}

/** The expression a value becomes once `as`, `satisfies`, `!` and parentheses around it are passed. */
function throughCasts(node: ts.Expression): ts.Expression {
  let n = node;
  while (ts.isAsExpression(n.parent) || ts.isSatisfiesExpression(n.parent) || ts.isNonNullExpression(n.parent) || ts.isParenthesizedExpression(n.parent)) n = n.parent;
  return n;
}

function outermostChain(node: ts.Expression): ts.Expression {
  let n: ts.Expression = node;
  for (;;) {
    const p = n.parent;
    if ((ts.isPropertyAccessExpression(p) || ts.isElementAccessExpression(p) || ts.isCallExpression(p)) && p.expression === n) n = p;
    else return n;
  }
}

function isWriteTarget(node: ts.Node): boolean {
  const p = node.parent;
  if (ts.isBinaryExpression(p) && p.left === node && p.operatorToken.kind >= ts.SyntaxKind.FirstAssignment && p.operatorToken.kind <= ts.SyntaxKind.LastAssignment) return true;
  if ((ts.isPrefixUnaryExpression(p) || ts.isPostfixUnaryExpression(p)) && (p.operator === ts.SyntaxKind.PlusPlusToken || p.operator === ts.SyntaxKind.MinusMinusToken)) return true;
  return ts.isDeleteExpression(p);
}

function wrap(ctx: Ctx, expr: ts.Expression, make: (text: string) => string): TextEdit {
  const text = make(textOf(ctx.sf, expr));
  return { start: expr.getStart(ctx.sf), end: expr.end, text };
}

function nullishDefault(ctx: Ctx): Variant[] {
  const subject = subjectOf(ctx);
  if (!subject) return [];
  const e = subject.expr;
  if (ctx.input.errorClass === 'TypeError:undefined-property-write') {
    if (!isSimpleReference(e) || ts.isIdentifier(e)) return [];
    const stmt = enclosingListStatement(e);
    if (!stmt || ts.isSourceFile(stmt.parent)) return [];
    const t = textOf(ctx.sf, e);
    const init = subject.access && ts.isElementAccessExpression(subject.access) && ts.isNumericLiteral(subject.access.argumentExpression) ? '[]' : '{}';
    const pos = lineStartAt(ctx.sf, stmt.getStart(ctx.sf));
    return [{ edits: [{ start: pos, end: pos, text: `${indentAt(ctx.sf, stmt.getStart(ctx.sf))}${t} ??= ${init};
` }], prior: 0.9, rationale: `${t} is created (${init}) when it does not exist yet, before a property is set on it.` }];
  }
  let fallback: string | undefined;
  if (ctx.family === 'iterable') fallback = '[]';
  else if (ctx.input.errorClass === 'TypeError:object-conversion-null') fallback = '{}';
  else if (ctx.family === 'string') fallback = "''";
  else if (subject.access && (ts.isPropertyAccessExpression(subject.access) || ts.isElementAccessExpression(subject.access))) {
    const name = ts.isPropertyAccessExpression(subject.access) ? subject.access.name.text : '';
    fallback = ['map', 'filter', 'forEach', 'reduce', 'length', 'some', 'every', 'find', 'join', 'slice'].includes(name) ? '[]' : undefined;
  }
  if (!fallback) return [];
  const inArgOrLoop = ts.isCallExpression(e.parent) || ts.isForOfStatement(e.parent) || ts.isSpreadElement(e.parent);
  return [{
    edits: [wrap(ctx, e, (t) => (inArgOrLoop ? `${t} ?? ${fallback}` : `(${t} ?? ${fallback})`))],
    prior: 0.8,
    rationale: `Uses ${fallback} when ${textOf(ctx.sf, e)} is undefined or null, so the code that follows sees an empty value instead of throwing.`,
  }];
}

function defaultParameter(ctx: Ctx): Variant[] {
  const { sf } = ctx;
  // Destructured parameters fail with "Cannot destructure…" or, when an element has a default, with "Cannot read properties of undefined (reading '<element>')".
  const prop = ctx.input.captures['prop'];
  if (ctx.input.errorClass === 'TypeError:destructure-undefined' || ctx.input.errorClass === 'TypeError:undefined-property-access') {
    const pattern = nodesOnLine(sf, ctx.input.line, ts.isParameter).find(
      (p) => ts.isObjectBindingPattern(p.name) && !p.initializer &&
        (ctx.input.errorClass === 'TypeError:destructure-undefined' || p.name.elements.some((e) => (e.propertyName ?? e.name).getText(sf) === prop)),
    );
    if (pattern) {
      const edits: TextEdit[] = [{ start: pattern.end, end: pattern.end, text: ' = {}' }];
      if (pattern.questionToken) edits.push({ start: pattern.questionToken.getStart(sf), end: pattern.questionToken.end, text: '' });
      const fn = enclosingFunction(pattern.name);
      return [{ edits, prior: 0.85, rationale: `The destructured parameter of ${(fn && functionName(fn)) ?? 'the function'}() defaults to {}, so a call without it no longer throws.` }];
    }
  }
  const subject = subjectOf(ctx);
  if (!subject) return [];
  const fn = enclosingFunction(subject.expr);
  if (!fn || !ts.isIdentifier(subject.expr)) return [];
  const name = subject.expr.text;
  const param = fn.parameters.find((p) => ts.isIdentifier(p.name) && p.name.text === name);
  if (!param || param.initializer || param.dotDotDotToken) return [];
  let value = ctx.input.errorClass === 'TypeError:destructure-undefined' ? '{}' : defaultForUsage(usageOf(name, fn.body ?? fn));
  if (!value) return [];
  if (value === "''") value = "''";
  const edits: TextEdit[] = [{ start: param.end, end: param.end, text: ` = ${value}` }];
  if (param.questionToken) edits.push({ start: param.questionToken.getStart(sf), end: param.questionToken.end, text: '' });
  return [{ edits, prior: 0.75, rationale: `Gives parameter ${name} of ${functionName(fn) ?? 'the function'}() the default ${value}, so callers that omit it no longer crash it.` }];
}

function arrayCheck(ctx: Ctx): Variant[] {
  const subject = subjectOf(ctx);
  if (!subject || !isSimpleReference(subject.expr)) return [];
  const e = subject.expr;
  const t = textOf(ctx.sf, e);
  const bare = ts.isForOfStatement(e.parent) || ts.isSpreadElement(e.parent) || ts.isCallExpression(e.parent);
  return [{
    edits: [wrap(ctx, e, () => (bare ? `Array.isArray(${t}) ? ${t} : []` : `(Array.isArray(${t}) ? ${t} : [])`))],
    prior: 0.85,
    rationale: `Treats ${t} as an empty list unless Array.isArray(${t}) holds, so a missing or non-array value no longer throws.`,
  }];
}

function typeofFunctionCheck(ctx: Ctx): Variant[] {
  const { sf } = ctx;
  const subject = subjectOf(ctx);
  if (!subject?.access || !ts.isCallExpression(subject.access)) return [];
  const call = subject.access;
  const callee = ctx.family === 'string' && ts.isPropertyAccessExpression(call.expression) ? call.expression : call.expression;
  if (!isSimpleReference(callee)) return [];
  const c = textOf(sf, callee);
  const callText = textOf(sf, call);
  if (ts.isExpressionStatement(call.parent)) {
    const stmt = call.parent;
    return [{ edits: [{ start: stmt.getStart(sf), end: stmt.end, text: `if (typeof ${c} === 'function') ${callText};` }], prior: 0.85, rationale: `Calls ${c} only when it is a function (typeof check).` }];
  }
  const fn = enclosingFunction(call);
  const f = fn ? returnFallback(fn, ctx.checked) : undefined;
  if (f?.kind === 'none' && isResultOf(call, fn)) return [];
  const otherwise = f?.kind === 'value' && f.known && isResultOf(call, fn) ? f.text : 'undefined';
  return [{ edits: [{ start: call.getStart(sf), end: call.end, text: `(typeof ${c} === 'function' ? ${callText} : ${otherwise})` }], prior: 0.75, rationale: `Calls ${c} only when it is a function (typeof check), else uses ${otherwise}.` }];
}

function isResultOf(expr: ts.Expression, fn: FunctionNode | undefined): boolean {
  const p = expr.parent;
  return (ts.isReturnStatement(p) && p.expression === expr) || (fn !== undefined && ts.isArrowFunction(fn) && fn.body === expr);
}

function stringCoercion(ctx: Ctx): Variant[] {
  const subject = subjectOf(ctx);
  if (!subject || ctx.family !== 'string') return [];
  const e = subject.expr;
  const t = textOf(ctx.sf, e);
  return [{
    edits: [wrap(ctx, e, () => `String(${t} ?? '')`)],
    prior: 0.9,
    rationale: `Coerces ${t} to text with String() before calling a string method on it (it arrived as a non-string; null/undefined become '').`,
  }];
}

// ---------------------------------------------------------------------------------------------
// Statement rewrites.

function tryCatchFallback(ctx: Ctx): Variant[] {
  const { sf, unit, input } = ctx;
  const here = nodeStartingOn(sf, input.line);
  if (!here) return [];
  let stmt = enclosingListStatement(here);
  while (stmt && ts.isTryStatement(stmt.parent.parent)) stmt = enclosingListStatement(stmt.parent.parent);
  if (!stmt || ts.isSourceFile(stmt.parent)) return [];
  const fn = enclosingFunction(stmt);
  if (!fn) return [];
  const indent = indentAt(sf, stmt.getStart(sf));
  const inner = indent + unit;
  const exit = exitFor(ctx, stmt, fn);
  const what = `${input.errorType}${input.message ? ` (${short(input.message)})` : ''}`;
  const block = (body: string, handler: string): string => `try {\n${inner}${body}\n${indent}} catch {\n${inner}${handler}\n${indent}}`;
  const start = stmt.getStart(sf);
  if (ts.isVariableStatement(stmt)) {
    const decls = stmt.declarationList.declarations;
    const decl = decls[0];
    if (decls.length !== 1 || !decl || !ts.isIdentifier(decl.name) || !decl.initializer) return [];
    const name = decl.name.text;
    const type = decl.type ? `: ${textOf(sf, decl.type)}` : '';
    const init = textOf(sf, decl.initializer);
    const variants: Variant[] = [];
    // A value default suits data read or parsed synchronously; a failed construction or remote call has no sensible stand-in.
    const dataCall = ts.isCallExpression(decl.initializer);
    const value = decl.type || !dataCall ? undefined : defaultForUsage(usageOf(name, fn.body ?? fn));
    if (value) {
      variants.push({
        edits: [{ start, end: stmt.end, text: `let ${name}${type};\n${indent}${block(`${name} = ${init};`, `${name} = ${value};`)}` }],
        prior: 0.8,
        rationale: `${init.split('(')[0]}() can throw ${what}; ${name} now falls back to ${value} (the kind of value the code below uses) instead of failing the whole call.`,
      });
    }
    if (exit === undefined) return variants;
    variants.push({
      edits: [{ start, end: stmt.end, text: `let ${name}${type};\n${indent}${block(`${name} = ${init};`, exit)}` }],
      prior: 0.75,
      rationale: `${init.split('(')[0]}() can throw ${what}; the failure is caught where it happens and ${functionName(fn) ?? 'the function'}() ${exit === 'continue;' ? 'skips this element' : `returns its neutral value (${exit})`}.`,
    });
    return variants;
  }
  if ((ts.isReturnStatement(stmt) || ts.isExpressionStatement(stmt)) && exit !== undefined) {
    return [{
      edits: [{ start, end: stmt.end, text: block(textOf(sf, stmt), exit) }],
      prior: 0.75,
      rationale: `The statement can throw ${what}; it is wrapped in try/catch and ${functionName(fn) ?? 'the function'}() ${exit === 'continue;' ? 'skips this element' : `falls back to ${exit}`} instead of crashing its caller.`,
    }];
  }
  return [];
}

/** Calls to functions declared `async` in the file, made without `await`, relevant to the fix line. */
export function findUnawaitedAsyncCalls(sf: ts.SourceFile, line: number): ts.CallExpression[] {
  const asyncFns = new Set<string>();
  const asyncMethods = new Set<string>();
  const visit = (n: ts.Node): void => {
    if (isFunctionNode(n) && isAsync(n)) {
      const name = functionName(n);
      if (name) (ts.isMethodDeclaration(n) || ts.isPropertyAssignment(n.parent) ? asyncMethods : asyncFns).add(name);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  const here = nodeStartingOn(sf, line);
  const fn = here && enclosingFunction(here);
  if (!fn?.body) return [];
  const usedOnLine = new Set(nodesOnLine(sf, line, ts.isIdentifier).map((i) => i.text));
  const calls = descendants(fn.body, ts.isCallExpression).filter((call) => {
    if (enclosingFunction(call) !== fn) return false;
    const callee = call.expression;
    const isAsyncCallee = (ts.isIdentifier(callee) && asyncFns.has(callee.text)) || (ts.isPropertyAccessExpression(callee) && asyncMethods.has(callee.name.text));
    if (!isAsyncCallee) return false;
    const p = call.parent;
    if (ts.isAwaitExpression(p) || ts.isReturnStatement(p) || ts.isArrowFunction(p) || (ts.isPropertyAccessExpression(p) && /^(then|catch|finally)$/.test(p.name.text))) return false;
    if (ts.isVoidExpression(p) || ts.isArrayLiteralExpression(p)) return false;
    if (lineOf(sf, call.getStart(sf)) === line) return true;
    if (ts.isVariableDeclaration(p) && ts.isIdentifier(p.name) && usedOnLine.has(p.name.text)) return true;
    for (let a: ts.Node | undefined = p; a && a !== fn; a = a.parent) if (ts.isBlock(a) && ts.isTryStatement(a.parent) && a.parent.tryBlock === a) return true;
    return false;
  });
  return calls;
}

function awaitInsertion(ctx: Ctx): Variant[] {
  const { sf } = ctx;
  const variants: Variant[] = [];
  for (const call of findUnawaitedAsyncCalls(sf, ctx.input.line)) {
    const fn = enclosingFunction(call);
    if (!fn) continue;
    const edits: TextEdit[] = [{ start: call.getStart(sf), end: call.getStart(sf), text: 'await ' }];
    let prior = 0.95;
    if (!isAsync(fn)) {
      const keyword = fn.getChildren(sf).find((c) => c.kind === ts.SyntaxKind.FunctionKeyword);
      const pos = keyword ? keyword.getStart(sf) : ts.isMethodDeclaration(fn) ? fn.name.getStart(sf) : fn.getStart(sf);
      edits.push({ start: pos, end: pos, text: 'async ' });
      prior = 0.6;
    }
    const callee = textOf(sf, call.expression);
    variants.push({
      edits,
      prior,
      rationale: `${callee}() is async but its result was used without await, so the code handled a pending Promise; it is now awaited${prior < 0.9 ? ` (and ${functionName(fn) ?? 'the caller'}() becomes async)` : ''}.`,
    });
  }
  return variants;
}

function constToLet(ctx: Ctx): Variant[] {
  const { sf } = ctx;
  const targets = new Set<string>();
  for (const n of nodesOnLine(sf, ctx.input.line, anyNode)) {
    if (ts.isBinaryExpression(n) && ts.isIdentifier(n.left) && n.operatorToken.kind >= ts.SyntaxKind.FirstAssignment && n.operatorToken.kind <= ts.SyntaxKind.LastAssignment) targets.add(n.left.text);
    if ((ts.isPrefixUnaryExpression(n) || ts.isPostfixUnaryExpression(n)) && ts.isIdentifier(n.operand) && (n.operator === ts.SyntaxKind.PlusPlusToken || n.operator === ts.SyntaxKind.MinusMinusToken)) targets.add(n.operand.text);
  }
  const variants: Variant[] = [];
  for (const name of targets) {
    const lists = descendants(sf, ts.isVariableDeclarationList).filter(
      (l) => (l.flags & ts.NodeFlags.Const) !== 0 && l.declarations.some((d) => ts.isIdentifier(d.name) && d.name.text === name) && !ts.isForOfStatement(l.parent) && !ts.isForInStatement(l.parent),
    );
    const list = lists.filter((l) => l.getStart(sf) < sf.getLineStarts()[ctx.input.line - 1]!).pop();
    if (!list) continue;
    const start = list.getStart(sf);
    variants.push({ edits: [{ start, end: start + 'const'.length, text: 'let' }], prior: 0.9, rationale: `${name} is reassigned, so it is declared with let instead of const.` });
  }
  return variants;
}

function renameToDeclared(ctx: Ctx): Variant[] {
  const { sf } = ctx;
  const name = ctx.input.captures['name'];
  if (!name) return [];
  const declared = new Set<string>();
  const visit = (n: ts.Node): void => {
    if ((ts.isVariableDeclaration(n) || ts.isFunctionDeclaration(n) || ts.isClassDeclaration(n) || ts.isParameter(n) || ts.isBindingElement(n) || ts.isImportSpecifier(n) || ts.isImportClause(n) || ts.isNamespaceImport(n)) && n.name && ts.isIdentifier(n.name)) {
      declared.add(n.name.text);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  declared.delete(name);
  const best = [...declared]
    .map((d) => ({ d, dist: levenshtein(d, name) }))
    .filter((x) => x.dist <= Math.max(1, Math.floor(name.length / 3)))
    .sort((a, b) => a.dist - b.dist || a.d.localeCompare(b.d))[0];
  if (!best) return [];
  const uses = descendants(sf, ts.isIdentifier).filter((i) => i.text === name && !(ts.isPropertyAccessExpression(i.parent) && i.parent.name === i));
  if (uses.length === 0) return [];
  return [{
    edits: uses.map((u) => ({ start: u.getStart(sf), end: u.end, text: best.d })),
    prior: best.dist === 1 ? 0.85 : 0.7,
    rationale: `${name} is not declared anywhere in the file; ${best.d} is (edit distance ${best.dist}), so this is taken to be a typo.`,
  }];
}

function levenshtein(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}

/** A function's name, or for an anonymous callback the name of the function it is written in. */
function nameFor(fn: FunctionNode): string {
  for (let f: FunctionNode | undefined = fn; f; f = enclosingFunction(f)) {
    const name = functionName(f);
    if (name) return f === fn ? name : `a callback in ${name}`;
  }
  return 'a callback';
}

/** `!(valid)`, without a double negation when `valid` is a single negated call. */
function negate(valid: string): string {
  const m = /^!([\w.]+\((.*)\))$/.exec(valid);
  if (m && !/&&|\|\|/.test(valid)) return m[1]!;
  return `!(${valid})`;
}

function short(message: string): string {
  const line = message.split('\n')[0] ?? '';
  return line.length > 80 ? `${line.slice(0, 77)}...` : line;
}

/**
 * The expression that held the bad value at `input.line`, as source text, when the error class
 * names one (the object of a failed property read, the non-array receiver, the non-function callee…).
 */
export function badValueAt(input: TemplateInput): string | undefined {
  const sf = parseSource(input.file, input.source);
  const ctx: Ctx = { sf, input, unit: indentUnit(sf), family: FAMILY[input.errorClass] ?? 'other' };
  const subject = subjectOf(ctx);
  return subject ? textOf(sf, subject.expr) : undefined;
}
