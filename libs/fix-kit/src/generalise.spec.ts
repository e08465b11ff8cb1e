import { applyLearnedTemplate, asLearnedTemplate, generaliseFix } from './generalise';

describe('learned templates (Getafix-style generalisation)', () => {
  const before = `export function sum(values: number[]): number {\n  return values.reduce((a, b) => a + b);\n}\n`;
  const after = `export function sum(values: number[]): number {\n  return values.reduce((a, b) => a + b, 0);\n}\n`;

  it('given an accepted fix, abstracts local names into holes and keeps the operation', () => {
    const t = generaliseFix('src/sum.ts', before, after)!;
    expect(t.shape).toBe('node');
    expect(t.rootKind).toBe('CallExpression');
    expect(t.before.filter((x) => 'h' in x).length).toBeGreaterThan(0);
    expect(t.before).toContainEqual({ t: 'reduce' });
    expect(JSON.parse(JSON.stringify(t))).toEqual(t);
  });

  it('when applied to a differently named instance, rewrites it the same way with its own names', () => {
    const t = asLearnedTemplate(JSON.parse(JSON.stringify(generaliseFix('src/sum.ts', before, after))));
    const other = `function totalCents(prices) {\n  const cents = prices.reduce((acc, p) => acc + p);\n  return cents;\n}\n`;
    const result = applyLearnedTemplate(t, 'src/cents.js', other, 2);
    expect(result?.after).toBe(`function totalCents(prices) {\n  const cents = prices.reduce((acc, p) => acc + p, 0);\n  return cents;\n}\n`);
  });

  it('does not fire on a different operation or an inconsistent binding', () => {
    const t = generaliseFix('src/sum.ts', before, after)!;
    expect(applyLearnedTemplate(t, 'x.js', `const m = xs.map((a, b) => a + b);\n`)).toBeUndefined();
    expect(applyLearnedTemplate(t, 'x.js', `const m = xs.reduce((a, b) => b + a);\n`)).toBeUndefined();
  });

  it('learns an inserted guard anchored on the statement after it', () => {
    const b = `function f(user) {\n  const n = user.name;\n  return n;\n}\n`;
    const a = `function f(user) {\n  if (!user) return '';\n  const n = user.name;\n  return n;\n}\n`;
    const t = generaliseFix('f.js', b, a)!;
    expect(t.shape).toBe('statements');
    const applied = applyLearnedTemplate(t, 'g.js', `function g(account) {\n  const label = account.name;\n  return label;\n}\n`, 2);
    expect(applied?.after).toBe(`function g(account) {\n  if (!account) return '';\n  const label = account.name;\n  return label;\n}\n`);
  });
});
