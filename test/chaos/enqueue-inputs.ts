import fc from 'fast-check';

/** One fuzzed `queuectl enqueue`: its arguments, what goes to stdin, and a short description for failure messages. */
export interface EnqueueInput {
  args: string[];
  stdin?: string;
  /** It asked for `--json` output (the id is then in the JSON). */
  json: boolean;
  describe: string;
}

/** Edge numbers: huge, negative, fractional, past the safe-integer and 32-bit timer ranges, not numbers at all. */
const edgeNumber = fc.constantFrom(
  0, -0, -1, 0.5, 1.5, -0.001, 1e-300, 1e308, -1e308, 2 ** 31 - 1, 2 ** 31, 2 ** 31 / 1000, 2 ** 32, 2 ** 53, 2 ** 53 + 2, 2 ** 63, 1e21, 86_400 * 365 * 1000,
);
/** Text that breaks naive handling: NUL and control bytes, long runs, unicode, shell and JSON metacharacters. */
const edgeText = fc.oneof(
  fc.constantFrom('', ' ', '\u0000', 'a\u0000b', '\n', 'é', '\u{1F600}', '\uD800', '../..', '"', '\\', '$(id)', '-1', '1e3', '0x10', 'null', 'true'),
  fc.string({ maxLength: 24 }),
  fc.integer({ min: 200, max: 70_000 }).map((n) => 'x'.repeat(n)),
);
/** Any JSON value, nested a few levels. */
const junk: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null), fc.boolean(), fc.integer(), fc.double(), edgeNumber, edgeText,
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 8 }), tie('value'), { maxKeys: 3 }),
  ),
})).value;

/** Dates that look like dates but are not real ones, or lie at the ends of the range. */
const edgeDate = fc.constantFrom(
  '2030-02-30', '2030-13-01', '2030-00-10', '2030-01-01T25:00:00Z', '2030-01-01T10:61:00Z', '99999-01-01', '0000-00-00',
  '1970-01-01', '0001-01-01T00:00:00Z', '9999-12-31T23:59:59.999Z', '+275760-09-13T00:00:00.001Z', '2030-01-01T00:00:00+99:99',
  'now', 'tomorrow', '2020-01-01T00:00:00Z', '2024-02-29', '2023-02-29',
);
/** Commands that do nothing harmful: the fuzz varies the fields around a command, never runs random shell text. */
const safeCommand = fc.constantFrom('true', 'exit 1', 'echo fuzz', 'printf "\\000\\377"', ': '.repeat(5000), 'sleep 0.05');
const goodId = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,20}$/);
const envName = fc.oneof(fc.constantFrom('A', '_x', 'PATH', 'QUEUECTL_JOB_ID', 'LD_PRELOAD', '1A', 'A-B', '', 'A=B'), fc.string({ maxLength: 8 }));

/** A job object: each known field absent, plausible or junk; sometimes unknown fields. */
const jobObject = (dir: string) =>
  fc.record(
    {
      id: fc.oneof(goodId, fc.constant('existing'), junk),
      command: fc.oneof({ weight: 4, arbitrary: safeCommand }, { weight: 1, arbitrary: junk }),
      max_retries: fc.oneof(fc.nat(3), edgeNumber, junk),
      priority: fc.oneof(fc.integer({ min: -5, max: 5 }), edgeNumber, junk),
      run_at: fc.oneof(edgeDate, fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), junk),
      delay: fc.oneof(fc.double({ min: 0, max: 0.5, noNaN: true }), edgeNumber, junk),
      timeout: fc.oneof(fc.constantFrom(0.001, 0.5, 5, 2 ** 31 / 1000 + 1, 1e10, 1e308), edgeNumber, junk),
      cwd: fc.oneof(fc.constant(dir), fc.constant('/nonexistent/dir'), edgeText, junk),
      env: fc.oneof(fc.dictionary(envName, fc.oneof(edgeText, junk), { maxKeys: 3 }), junk),
      depends_on: fc.oneof(fc.constant(['existing']), fc.array(fc.oneof(goodId, junk), { maxLength: 3 }), junk),
      if_not_exists: fc.oneof(fc.boolean(), junk),
      [`unknown_${'field'}`]: junk,
    },
    { requiredKeys: [] },
  );

/** JSON given as the argument, or as one line of `enqueue -f -`; sometimes not an object, or not JSON at all. */
const jsonInput = (dir: string): fc.Arbitrary<EnqueueInput> =>
  fc.tuple(
    fc.oneof({ weight: 8, arbitrary: jobObject(dir).map((job) => JSON.stringify(job)) }, { weight: 1, arbitrary: junk.map((value) => JSON.stringify(value) ?? 'undefined') }, { weight: 1, arbitrary: edgeText }),
    fc.constantFrom('argument', 'stdin', 'argument --json'),
    fc.nat(3),
  ).map(([text, how, cut]) => {
    // Now and then a truncated document.
    const body = cut === 0 ? text.slice(0, Math.max(1, text.length - 2)) : text;
    if (how === 'stdin') return { args: ['enqueue', '-f', '-'], stdin: `${body}\n`, json: false, describe: `enqueue -f - <<< ${body.slice(0, 300)}` };
    const json = how === 'argument --json';
    return { args: ['enqueue', body, ...(json ? ['--json'] : [])], json, describe: `enqueue ${body.slice(0, 300)}${json ? ' --json' : ''}` };
  });

const flagValue = fc.oneof(edgeText, edgeNumber.map(String), fc.integer({ min: -3, max: 10 }).map(String));

/** A set of enqueue flags with edge values, sometimes unknown flags or a stray argument. */
const flagInput = (dir: string): fc.Arbitrary<EnqueueInput> =>
  fc.record(
    {
      command: fc.oneof(safeCommand, edgeText),
      id: fc.oneof(goodId, flagValue),
      maxRetries: flagValue,
      priority: flagValue,
      delay: flagValue,
      runAt: fc.oneof(edgeDate, flagValue),
      timeout: flagValue,
      cwd: fc.oneof(fc.constant(dir), flagValue),
      env: fc.array(fc.oneof(fc.constantFrom('A=1', 'A=', '=x', 'A', '1A=2', 'B=\u00e9'), edgeText), { minLength: 1, maxLength: 2 }),
      after: fc.array(fc.oneof(fc.constant('existing'), goodId, edgeText), { minLength: 1, maxLength: 2 }),
      ifNotExists: fc.constant(true),
      json: fc.constant(true),
      bogus: fc.constantFrom('--bogus', '--max-retries', '-x', '--', 'stray'),
    },
    { requiredKeys: ['command'] },
  ).map((flags) => {
    const args = ['enqueue'];
    const names: Record<string, string> = { command: '--command', id: '--id', maxRetries: '--max-retries', priority: '--priority', delay: '--delay', runAt: '--run-at', timeout: '--timeout', cwd: '--cwd' };
    for (const [key, flag] of Object.entries(names)) {
      const value = flags[key as keyof typeof flags];
      if (typeof value === 'string') args.push(flag, value);
    }
    for (const pair of flags.env ?? []) args.push('-e', pair);
    for (const dep of flags.after ?? []) args.push('--after', dep);
    if (flags.ifNotExists) args.push('--if-not-exists');
    if (flags.json) args.push('--json');
    if (flags.bogus) args.push(flags.bogus);
    return { args, json: flags.json === true, describe: args.map((arg) => JSON.stringify(arg.slice(0, 100))).join(' ') };
  });

/** Fuzzed enqueue inputs, JSON and flags in the profile's proportion. */
export function enqueueInput(dir: string, weights: { json: number; flags: number }): fc.Arbitrary<EnqueueInput> {
  return fc.oneof({ weight: weights.json, arbitrary: jsonInput(dir) }, { weight: weights.flags, arbitrary: flagInput(dir) }).filter(passable);
}

/** What a real command line can carry: no NUL byte in an argument, none longer than Linux's 128 KiB. */
function passable(input: EnqueueInput): boolean {
  return input.args.every((arg) => !arg.includes('\u0000') && Buffer.byteLength(arg) < 120_000);
}
