import { describeProblems, parseRegistrationFile, registrationYaml } from './registration-file';

const VALID = `# antibody.yaml of checkout-api
name: checkout-api
repository:
  url: https://github.com/example/checkout-api.git
  defaultBranch: main
commands:
  install: npm ci
  test: npm test
language: typescript
sourceMaps: dist/**/*.js.map
deploy:
  adapter: webhook
  settings:
    url: https://deploy.example.com/hooks/checkout-api
    secretEnv: CHECKOUT_DEPLOY_TOKEN
policy:
  autoDeploy: false
  allowedPaths: [src/**]
  forbiddenPaths:
    - src/secrets/**
  budgets:
    perIncidentUsd: 0.5
    dailyUsd: 5
    monthlyUsd: 50
`;

const edit = (from: string, to: string) => {
  if (!VALID.includes(from)) throw new Error(`not in the sample: ${from}`);
  return VALID.replace(from, to);
};

describe('a registration file', () => {
  it('reads a valid file into the ServiceRegistered data, and writes it back as the same registration', () => {
    const result = parseRegistrationFile(VALID);
    expect(result).toEqual({
      ok: true,
      registration: expect.objectContaining({ name: 'checkout-api', commands: { install: 'npm ci', test: 'npm test' }, deploy: { adapter: 'webhook', settings: expect.objectContaining({ secretEnv: 'CHECKOUT_DEPLOY_TOKEN' }) } }),
    });
    if (!result.ok) return;
    expect(parseRegistrationFile(registrationYaml(result.registration))).toEqual(result);
  });

  it.each([
    ['a mistyped value', edit('autoDeploy: false', 'autoDeploy: yes'), { path: 'policy.autoDeploy', line: 17, message: 'policy.autoDeploy must be a boolean, got "yes"' }],
    ['a misspelt field, with a suggestion', edit('  autoDeploy: false', '  autoDeplooy: false'), { path: 'policy.autoDeplooy', line: 17, message: 'policy.autoDeplooy is not a field of policy (did you mean policy.autoDeploy?)' }],
    ['an unknown top-level field', `${VALID}owner: team-a\n`, { path: 'owner', line: 25, message: expect.stringMatching(/^owner is not a field of a registration \(known: name, repository, /) }],
    ['a missing required field, at its parent', edit('  test: npm test\n', ''), { path: 'commands.test', line: 6, message: 'commands.test is required' }],
    ['a value outside an enum', edit('adapter: webhook', 'adapter: argo'), { path: 'deploy.adapter', line: 12, message: 'deploy.adapter must be one of fleet, webhook, none, got "argo"' }],
    ['a bad item of a list', edit('    - src/secrets/**', '    - 42'), { path: 'policy.forbiddenPaths.0', line: 20, message: 'policy.forbiddenPaths.0 must be a string, got 42' }],
    ['a negative budget', edit('dailyUsd: 5', 'dailyUsd: -5'), { path: 'policy.budgets.dailyUsd', line: 23, message: expect.stringMatching(/^policy\.budgets\.dailyUsd must be >= 0/) }],
    ['a bad service name', edit('name: checkout-api', 'name: "checkout api"'), { path: 'name', line: 2, message: expect.stringMatching(/^name must match .*, got "checkout api"$/) }],
    ['an empty command', edit('install: npm ci', 'install: ""'), { path: 'commands.install', line: 7, message: 'commands.install must not be empty' }],
    ['a duplicate key', edit('language: typescript', 'language: typescript\nlanguage: javascript'), { path: '', line: 10, message: 'a key appears twice in the same mapping' }],
    ['a value that is not JSON, in free-form adapter settings (checked by the catalog)', edit('    secretEnv: CHECKOUT_DEPLOY_TOKEN', '    timeout: .nan'), { path: 'deploy.settings.timeout', line: 15, message: 'deploy.settings.timeout: expected a JSON value' }],
    ['broken YAML', edit('  allowedPaths: [src/**]', '  allowedPaths: [src/**'), { path: '', line: expect.any(Number), message: expect.stringMatching(/^YAML: /) }],
  ])('names the field and line of %s', (_what, text, expected) => {
    const result = parseRegistrationFile(text);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems[0]).toEqual(expected);
  });

  it('refuses a file that is not a mapping, and an empty one', () => {
    for (const text of ['', '- a\n- b\n', 'just text\n']) {
      expect(parseRegistrationFile(text)).toEqual({ ok: false, problems: [{ path: '', line: 1, message: expect.stringMatching(/must be a YAML mapping/) }] });
    }
  });

  it('reports every problem, sorted by line, as one line: the first in full, then where the others are', () => {
    const text = edit('language: typescript', 'language: 3').replace('autoDeploy: false', 'autoDeploy: 1').replace('  test: npm test\n', '');
    const result = parseRegistrationFile(text);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.map((p) => [p.line, p.path])).toEqual([
      [6, 'commands.test'],
      [8, 'language'],
      [16, 'policy.autoDeploy'],
    ]);
    expect(describeProblems('antibody.yaml', result.problems)).toBe('antibody.yaml:6: commands.test is required (2 more: line 8 language, line 16 policy.autoDeploy)');
  });
});
