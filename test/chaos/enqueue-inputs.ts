import fc from 'fast-check';

/** One fuzzed `queuectl enqueue`: its arguments, what goes to stdin, and a short description for failure messages. */
export interface EnqueueInput {
  args: string[];
  stdin?: string;
  /** It asked for `--json` output: the id is then in the JSON (of the job, or of the first job of `-f`). */
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

/** Each known field absent, plausible or junk, and an unknown field. */
const wildFields = (dir: string) =>
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

/** Fields of a job that can run. */
const plausibleFields = (dir: string) =>
  fc.record(
    {
      id: goodId,
      max_retries: fc.nat(3),
      priority: fc.integer({ min: -5, max: 5 }),
      delay: fc.double({ min: 0, max: 0.5, noNaN: true }),
      timeout: fc.constantFrom(0.5, 5, 30),
      cwd: fc.constant(dir),
      env: fc.dictionary(fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,8}$/), fc.string({ maxLength: 10 }), { maxKeys: 2 }),
      depends_on: fc.constant(['existing']),
      if_not_exists: fc.boolean(),
    },
    { requiredKeys: [] },
  );

/** A job object: a runnable one with up to three of its fields (maybe the command) made wild, or unknown ones added. */
const jobObject = (dir: string) =>
  fc.tuple(plausibleFields(dir), safeCommand, wildFields(dir), fc.nat(3)).map(([base, command, wild, n]) => ({
    ...base,
    command,
    ...Object.fromEntries(Object.entries(wild).slice(0, n)),
  }));

/** JSON given as the argument, or as one line of `enqueue -f -`; sometimes not an object, or not JSON at all. */
const jsonInput = (dir: string): fc.Arbitrary<EnqueueInput> =>
  fc.tuple(
    fc.oneof({ weight: 8, arbitrary: jobObject(dir).map((job) => JSON.stringify(job)) }, { weight: 1, arbitrary: junk.map((value) => JSON.stringify(value) ?? 'undefined') }, { weight: 1, arbitrary: edgeText }),
    fc.constantFrom('argument', 'stdin', 'argument --json'),
    fc.nat(3),
  ).map(([text, how, cut]) => {
    // Now and then a truncated document.
    const body = cut === 0 ? text.slice(0, Math.max(1, text.length - 2)) : text;
    if (how === 'stdin') return { args: ['enqueue', '-f', '-', '--json'], stdin: `${body}\n`, json: true, describe: `enqueue -f - --json <<< ${body.slice(0, 300)}` };
    const json = how === 'argument --json';
    return { args: ['enqueue', body, ...(json ? ['--json'] : [])], json, describe: `enqueue ${body.slice(0, 300)}${json ? ' --json' : ''}` };
  });

const flagValue = fc.oneof(edgeText, edgeNumber.map(String), fc.integer({ min: -3, max: 10 }).map(String));
/** Mostly a value that fits, sometimes an edge one. */
const mostly = <T>(fits: fc.Arbitrary<T>, edge: fc.Arbitrary<T>) => fc.oneof({ weight: 6, arbitrary: fits }, { weight: 1, arbitrary: edge });

/** A set of enqueue flags with edge values, sometimes unknown flags or a stray argument. */
const flagInput = (dir: string): fc.Arbitrary<EnqueueInput> =>
  fc.record(
    {
      command: mostly(safeCommand, edgeText),
      id: mostly(goodId, flagValue),
      maxRetries: mostly(fc.nat(3).map(String), flagValue),
      priority: mostly(fc.integer({ min: -5, max: 5 }).map(String), flagValue),
      delay: mostly(fc.constantFrom('0', '0.2'), flagValue),
      runAt: mostly(fc.constant('2020-01-01T00:00:00Z'), fc.oneof(edgeDate, flagValue)),
      timeout: mostly(fc.constantFrom('1', '30', '0.5'), flagValue),
      cwd: mostly(fc.constant(dir), flagValue),
      env: fc.array(mostly(fc.constantFrom('A=1', 'A=', 'B=\u00e9'), fc.oneof(fc.constantFrom('=x', 'A', '1A=2'), edgeText)), { minLength: 1, maxLength: 2 }),
      after: fc.array(mostly(fc.constant('existing'), fc.oneof(goodId, edgeText)), { minLength: 1, maxLength: 2 }),
      ifNotExists: fc.constant(true),
      json: fc.constant(true),
      bogus: fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom('--bogus', '--max-retries', '-x', '--', 'stray') }),
    },
    { requiredKeys: ['command', 'bogus'] },
  ).map((flags) => {
    const args = ['enqueue'];
    // Both a delay and a run time is a usage error of its own; keep one mostly, so most sets can be accepted.
    if (flags.delay !== undefined && flags.runAt !== undefined) delete flags.delay;
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
