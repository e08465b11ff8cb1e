import { defaultRuleCatalog, matchRules, parseRuleCatalog, SHIPPED_RULE_FILES } from './rules';

describe('rule catalog', () => {
  const rules = defaultRuleCatalog();

  it('covers at least 25 distinct error classes', () => {
    expect(new Set(rules.map((r) => r.errorClass)).size).toBeGreaterThanOrEqual(25);
    expect(SHIPPED_RULE_FILES.map((f) => f.name)).toEqual(['node-runtime.rules.json']);
  });

  describe.each(rules.map((r) => [r.id, r] as const))('rule %s', (_id, rule) => {
    it.each(rule.fixtures.match.map((f) => [f.message.slice(0, 60), f] as const))('given %s it is the best match', (_m, fixture) => {
      const [best] = matchRules(rules, fixture);
      expect(best?.rule.id).toBe(rule.id);
      if (fixture.captures) expect(best?.captures).toMatchObject(fixture.captures);
      expect(best?.rootCause).not.toMatch(/\{\w+\}/);
    });

    if (rule.fixtures.noMatch.length > 0) {
      it.each(rule.fixtures.noMatch.map((f) => [f.message.slice(0, 60), f] as const))('given %s it does not match', (_m, fixture) => {
        expect(matchRules(rules, fixture).map((m) => m.rule.id)).not.toContain(rule.id);
      });
    }
  });

  it('rejects a malformed rule file naming the file and field', () => {
    const bad = { name: 'bad.rules.json', content: { catalog: 'x', version: 1, rules: [{ id: 'a', errorClass: 'E', priority: 1, match: { message: '(' }, rootCause: 'r', strategies: [], confidence: 0.5, fixtures: { match: [{ type: 'E', message: 'm' }], noMatch: [] } }] } };
    expect(() => parseRuleCatalog([bad])).toThrow(/bad\.rules\.json: rules\.0\.match\.message must be a valid JavaScript regular expression/);
  });

  it('rejects a rule id that two files both define', () => {
    const [shipped] = SHIPPED_RULE_FILES;
    expect(() => parseRuleCatalog([shipped!, { ...shipped!, name: 'copy.rules.json' }])).toThrow(/copy\.rules\.json: duplicate rule id/);
  });
});
