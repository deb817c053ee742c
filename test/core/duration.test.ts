import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDuration, parseDuration, parseSecondsMs } from '../../src/core/duration';
import { UsageError } from '../../src/core/errors';

describe('parseDuration', () => {
  it('reads a number with a unit, or bare seconds', () => {
    const cases: [string, number][] = [
      ['250ms', 250], ['90s', 90_000], ['15m', 900_000], ['12h', 43_200_000], ['7d', 604_800_000], ['2w', 1_209_600_000],
      ['1.5h', 5_400_000], ['45', 45_000], ['0', 0], [' 30 s ', 30_000], ['0.0015s', 2],
    ];
    for (const [text, ms] of cases) assert.equal(parseDuration(text, 'retention'), ms, text);
  });

  it('rejects anything else with a UsageError naming the setting', () => {
    for (const text of ['', 'soon', '-5s', '5x', '5 seconds', '1e3', '.5s', '5S', '1h30m']) {
      assert.throws(
        () => parseDuration(text, 'retention'),
        (err: unknown) => err instanceof UsageError && err.message.startsWith(`retention: '${text}' is not a duration`),
        JSON.stringify(text),
      );
    }
  });
});

describe('one duration grammar', () => {
  it('refuses a bare number where a unit is required, except 0', () => {
    assert.throws(() => parseDuration('7', 'retention', { bare: 'refuse' }), /retention: '7' needs a unit: 7s, 7m, 7h or 7d/);
    assert.equal(parseDuration('7d', 'retention', { bare: 'refuse' }), 604_800_000);
    assert.equal(parseDuration('0', 'retention', { bare: 'refuse' }), 0);
  });

  it('is what every seconds flag reads: --timeout 10m, --timeout 2.5', () => {
    assert.equal(parseSecondsMs('10m', '--timeout'), 600_000);
    assert.equal(parseSecondsMs('2.5', '--timeout'), 2_500);
  });
});

describe('formatDuration', () => {
  it('gives a short form for every magnitude', () => {
    const cases: [number, string][] = [
      [0, '0ms'], [-5, '0ms'], [850, '850ms'], [1_000, '1s'], [12_400, '12s'], [59_999, '59s'], [60_000, '1m00s'],
      [303_000, '5m03s'], [3_599_999, '59m59s'], [3_600_000, '1h00m'], [7_800_000, '2h10m'], [86_400_000, '1d0h'],
      [3 * 86_400_000 + 4 * 3_600_000 + 59 * 60_000, '3d4h'],
    ];
    for (const [ms, text] of cases) assert.equal(formatDuration(ms), text, String(ms));
  });
});
