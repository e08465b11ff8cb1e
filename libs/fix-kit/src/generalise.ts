import ts from 'typescript';
import { enclosingFunction, nodeStartingOn, parseSource, lineOf } from './ast';
import { FixKitError } from './errors';

/** A piece of a template's "before" shape: literal token text, or a hole standing for an identifier. */
export type TemplateToken = { readonly t: string } | { readonly h: number };

/**
 * A fix abstracted from one concrete fix (Getafix-style): the changed syntax (a node, or a run of
 * statements) with every local identifier replaced by a numbered hole, and the replacement text
 * with the same holes. Property names and well-known globals stay concrete, so the template only
 * fires on the same operation with different variable names.
 */
export interface LearnedTemplate {
  readonly kind: 'ast-rewrite';
  readonly version: 1;
  /** `node`: one node of `rootKind`; `statements`: `count` consecutive statements of a block. */
  readonly shape: 'node' | 'statements';
  readonly rootKind: string;
  readonly count: number;
  readonly before: readonly TemplateToken[];
  readonly after: { readonly text: string; readonly holes: readonly { readonly start: number; readonly length: number; readonly hole: number }[] };
  /** The concrete before/after text it was learned from (for people reading the library). */
  readonly example: { readonly before: string; readonly after: string };
}

const KEEP = new Set(['undefined', 'NaN', 'Infinity', 'Array', 'Object', 'String', 'Number', 'Boolean', 'JSON', 'Math', 'Date', 'Promise', 'Error', 'TypeError', 'RangeError', 'URL', 'BigInt', 'Symbol', 'Map', 'Set', 'console', 'globalThis', 'process', 'require', 'module', 'exports']);

function isHoleIdentifier(node: ts.Node): node is ts.Identifier {
  if (!ts.isIdentifier(node) || KEEP.has(node.text)) return false;
  const p = node.parent;
  if (p && ts.isPropertyAccessExpression(p) && p.name === node) return false;
  if (p && (ts.isPropertyAssignment(p) || ts.isMethodDeclaration(p) || ts.isPropertyDeclaration(p)) && p.name === node) return false;
  return true;
}

function leaves(node: ts.Node, sf: ts.SourceFile, out: ts.Node[] = []): ts.Node[] {
  const children = node.getChildren(sf);
  if (children.length === 0) {
    if (node.kind !== ts.SyntaxKind.EndOfFileToken && node.getWidth(sf) > 0) out.push(node);
    return out;
  }
  for (const c of children) leaves(c, sf, out);
  return out;
}

/** The smallest pair of corresponding nodes whose text differs, or undefined when the trees are equal. */
function diffRoot(b: ts.Node, a: ts.Node, bsf: ts.SourceFile, asf: ts.SourceFile): [ts.Node, ts.Node] | undefined {
  if (b.getText(bsf) === a.getText(asf)) return undefined;
  const bc = b.getChildren(bsf);
  const ac = a.getChildren(asf);
  if (b.kind !== a.kind || bc.length !== ac.length || bc.length === 0) return [b, a];
  const differing: number[] = [];
  bc.forEach((c, i) => {
    if (c.getText(bsf) !== ac[i]!.getText(asf) || c.kind !== ac[i]!.kind) differing.push(i);
  });
  if (differing.length !== 1) return [b, a];
  return diffRoot(bc[differing[0]!]!, ac[differing[0]!]!, bsf, asf) ?? [b, a];
}

function isStatementList(node: ts.Node): boolean {
  return node.kind === ts.SyntaxKind.SyntaxList && !!node.parent && (ts.isBlock(node.parent) || ts.isSourceFile(node.parent));
}

/**
 * Learns a template from a concrete single-file fix. Returns undefined when the change cannot be
 * abstracted (no syntactic change, or a change spanning the whole file).
 */
export function generaliseFix(file: string, before: string, after: string): LearnedTemplate | undefined {
  const bsf = parseSource(file, before);
  const asf = parseSource(file, after);
  const root = diffRoot(bsf, asf, bsf, asf);
  if (!root) return undefined;
  let [b, a] = root;
  if (isStatementList(b) && isStatementList(a)) return statementsTemplate(b, a, bsf, asf);
  // Climb from tokens, identifiers and argument lists to the enclosing expression or statement.
  while (b.parent && a.parent && (b.kind === ts.SyntaxKind.SyntaxList || b.getChildCount(bsf) === 0 || ts.isIdentifier(b) || !(ts.isExpression(b) || ts.isStatement(b)) || ts.isIdentifier(a))) {
    b = b.parent;
    a = a.parent;
    if (isStatementList(b)) return undefined;
  }
  if (ts.isSourceFile(b) || ts.isBlock(b)) return undefined;
  return build('node', ts.SyntaxKind[b.kind], [b], [a], bsf, asf);
}

function statementsTemplate(b: ts.Node, a: ts.Node, bsf: ts.SourceFile, asf: ts.SourceFile): LearnedTemplate | undefined {
  const bs = b.getChildren(bsf);
  const as = a.getChildren(asf);
  let prefix = 0;
  while (prefix < bs.length && prefix < as.length && bs[prefix]!.getText(bsf) === as[prefix]!.getText(asf)) prefix++;
  let suffix = 0;
  while (suffix < bs.length - prefix && suffix < as.length - prefix && bs[bs.length - 1 - suffix]!.getText(bsf) === as[as.length - 1 - suffix]!.getText(asf)) suffix++;
  let bRun = bs.slice(prefix, bs.length - suffix);
  let aRun = as.slice(prefix, as.length - suffix);
  // A pure insertion is anchored on the statement after it (or before it, at the end of a block).
  if (bRun.length === 0) {
    if (suffix > 0) {
      bRun = [bs[bs.length - suffix]!];
      aRun = [...aRun, as[as.length - suffix]!];
    } else if (prefix > 0) {
      bRun = [bs[prefix - 1]!];
      aRun = [as[prefix - 1]!, ...aRun];
    } else return undefined;
  }
  if (bRun.length > 5) return undefined;
  return build('statements', 'Statement', bRun, aRun, bsf, asf);
}

function build(shape: LearnedTemplate['shape'], rootKind: string, bNodes: readonly ts.Node[], aNodes: readonly ts.Node[], bsf: ts.SourceFile, asf: ts.SourceFile): LearnedTemplate | undefined {
  const holes = new Map<string, number>();
  const before: TemplateToken[] = [];
  for (const n of bNodes) {
    for (const leaf of leaves(n, bsf)) {
      if (isHoleIdentifier(leaf)) {
        if (!holes.has(leaf.text)) holes.set(leaf.text, holes.size);
        before.push({ h: holes.get(leaf.text)! });
      } else before.push({ t: leaf.getText(bsf) });
    }
  }
  if (before.length === 0) return undefined;
  const first = aNodes[0]!;
  const last = aNodes[aNodes.length - 1]!;
  const start = first.getStart(asf);
  const text = asf.text.slice(start, last.end);
  const afterHoles: { start: number; length: number; hole: number }[] = [];
  for (const n of aNodes) {
    for (const leaf of leaves(n, asf)) {
      if (isHoleIdentifier(leaf) && holes.has(leaf.text)) afterHoles.push({ start: leaf.getStart(asf) - start, length: leaf.getWidth(asf), hole: holes.get(leaf.text)! });
    }
  }
  const bStart = bNodes[0]!.getStart(bsf);
  return {
    kind: 'ast-rewrite',
    version: 1,
    shape,
    rootKind,
    count: bNodes.length,
    before,
    after: { text, holes: afterHoles },
    example: { before: bsf.text.slice(bStart, bNodes[bNodes.length - 1]!.end), after: text },
  };
}

/** Checks a value read from an event is a template this version understands. */
export function asLearnedTemplate(value: unknown): LearnedTemplate {
  const v = value as Partial<LearnedTemplate> | null;
  if (!v || v.kind !== 'ast-rewrite' || v.version !== 1 || !Array.isArray(v.before) || !v.after || typeof v.after.text !== 'string') {
    throw new FixKitError('TEMPLATE_INVALID', 'pattern template is not an ast-rewrite v1 template');
  }
  return v as LearnedTemplate;
}

/**
 * Applies a learned template to `source`: finds the first place (on `line` when given, else in
 * the function around it, else anywhere) whose syntax matches the template's shape with a
 * consistent, one-to-one binding of holes to identifiers, and rewrites it. Returns the new
 * text, or undefined when nothing matches.
 */
export function applyLearnedTemplate(template: LearnedTemplate, file: string, source: string, line?: number): { after: string; line: number } | undefined {
  const sf = parseSource(file, source);
  const candidates: ts.Node[][] = [];
  const visit = (node: ts.Node): void => {
    if (template.shape === 'node' && ts.SyntaxKind[node.kind] === template.rootKind) candidates.push([node]);
    if (template.shape === 'statements' && (ts.isBlock(node) || ts.isSourceFile(node))) {
      const stmts = node.statements;
      for (let i = 0; i + template.count <= stmts.length; i++) candidates.push(stmts.slice(i, i + template.count));
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  const scope = line !== undefined ? nodeStartingOn(sf, line) : undefined;
  const fn = scope ? enclosingFunction(scope) : undefined;
  const rank = (nodes: ts.Node[]): number => {
    if (line === undefined) return 2;
    const from = lineOf(sf, nodes[0]!.getStart(sf));
    const to = lineOf(sf, nodes[nodes.length - 1]!.end);
    if (from <= line && line <= to) return 0;
    if (fn && nodes[0]!.getStart(sf) >= fn.getStart(sf) && nodes[0]!.end <= fn.end) return 1;
    return 2;
  };
  const ordered = candidates.map((c, i) => ({ c, i, r: rank(c) })).sort((x, y) => x.r - y.r || x.i - y.i);
  for (const { c } of ordered) {
    const binding = match(template, c, sf);
    if (!binding) continue;
    let text = template.after.text;
    for (const h of [...template.after.holes].sort((x, y) => y.start - x.start)) {
      const name = binding[h.hole];
      if (name === undefined) return undefined;
      text = text.slice(0, h.start) + name + text.slice(h.start + h.length);
    }
    const start = c[0]!.getStart(sf);
    const end = c[c.length - 1]!.end;
    return { after: source.slice(0, start) + text + source.slice(end), line: lineOf(sf, start) };
  }
  return undefined;
}

function match(template: LearnedTemplate, nodes: readonly ts.Node[], sf: ts.SourceFile): string[] | undefined {
  const tokens = nodes.flatMap((n) => leaves(n, sf));
  if (tokens.length !== template.before.length) return undefined;
  const binding: string[] = [];
  const used = new Set<string>();
  for (let i = 0; i < tokens.length; i++) {
    const want = template.before[i]!;
    const got = tokens[i]!;
    if ('t' in want) {
      if (got.getText(sf) !== want.t) return undefined;
      continue;
    }
    if (!isHoleIdentifier(got)) return undefined;
    const name = got.text;
    const bound = binding[want.h];
    if (bound === undefined) {
      if (used.has(name)) return undefined;
      binding[want.h] = name;
      used.add(name);
    } else if (bound !== name) return undefined;
  }
  return binding;
}

