import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffPolicy, CONFIG_KEY_NAMES, displayConfigValue, CONFIG_KEYS, normalizeConfigKey, resolveConfig, validateConfigValue, type ConfigKey } from '../../src/core/config';
import { UsageError } from '../../src/core/errors';

describe('normalizeConfigKey', () => {
  it('accepts dashes or underscores, any case, around spaces', () => {
    for (const raw of ['max-retries', 'max_retries', 'MAX_RETRIES', ' Max-Retries ']) assert.equal(normalizeConfigKey(raw), 'max-retries', raw);
    assert.equal(normalizeConfigKey('backoff_jitter'), 'backoff-jitter');
    for (const key of CONFIG_KEY_NAMES) assert.equal(normalizeConfigKey(key.replace(/-/g, '_')), key);
  });

  it('rejects an unknown key, naming it and listing the known ones', () => {
    for (const raw of ['retries', 'max__retries', '', 'toString', '__proto__']) {
      assert.throws(
        () => normalizeConfigKey(raw),
        (err: unknown) => err instanceof UsageError && err.message.startsWith(`unknown config key '${raw}'; known keys: max-retries, backoff-base,`),
        JSON.stringify(raw),
      );
    }
  });
});

describe('validateConfigValue', () => {
  const accepted: [ConfigKey, string][] = [
    ['max-retries', '0'], ['max-retries', '1000'], ['backoff-base', '1'], ['backoff-base', '1.5'], ['backoff-max', '0'],
    ['backoff-jitter', '0'], ['backoff-jitter', '1'], ['backoff-jitter', '0.25'], ['job-timeout', '0'], ['lease-timeout', '1'],
    ['lease-timeout', '86400'], ['output-limit', '0'], ['retention', '7d'], ['retention', 'off'], ['retention', ''], ['retention', '0'],
    ['job-timeout', '1h'], ['job-timeout', 'off'], ['backoff-max', '10m'], ['lease-timeout', '45s'],
    ['on-finish', 'notify-send "$QUEUECTL_JOB_ID"'], ['on-finish', ''],
  ];
  const rejected: [ConfigKey, string][] = [
    ['max-retries', '-1'], ['max-retries', '1.5'], ['max-retries', 'three'], ['max-retries', ''], ['max-retries', '1001'],
    ['backoff-base', '0.5'], ['backoff-base', '1001'], ['backoff-base', 'NaN'], ['backoff-max', '-1'], ['backoff-jitter', '1.1'],
    ['backoff-jitter', '-0.1'], ['job-timeout', '1.5s'], ['lease-timeout', '0'], ['lease-timeout', '86401'], ['output-limit', '1MB'],
    ['retention', 'forever'], ['retention', '-1d'], ['retention', '7'], ['lease-timeout', '2d'],
  ];

  it('accepts valid values, returning them trimmed', () => {
    for (const [key, value] of accepted) assert.equal(validateConfigValue(key, value), value, `${key}=${value}`);
    assert.equal(validateConfigValue('max-retries', ' 5 '), '5');
  });

  it('rejects invalid values with a UsageError naming the key', () => {
    for (const [key, value] of rejected) {
      assert.throws(
        () => validateConfigValue(key, value),
        (err: unknown) => err instanceof UsageError && err.message.startsWith(`config ${key}: `) && err.message.includes(`'${value}'`),
        `${key}=${value}`,
      );
    }
  });
});

describe('resolveConfig', () => {
  it('gives every default for an empty store', () => {
    assert.deepEqual(resolveConfig({}), {
      'max-retries': 3, 'backoff-base': 2, 'backoff-max': 3600, 'backoff-jitter': 0, 'job-timeout': 0, 'lease-timeout': 30,
      'output-limit': 1_048_576, retention: null, 'worker-count': 1, 'on-finish': null,
    });
  });

  it('parses stored values, and falls back to the default for one that no longer parses', () => {
    const config = resolveConfig({ 'max-retries': '5', 'backoff-base': '1.5', retention: '7d', 'on-finish': 'echo done', 'lease-timeout': 'soon' });
    assert.equal(config['max-retries'], 5);
    assert.equal(config['backoff-base'], 1.5);
    assert.equal(config.retention, 604_800_000);
    assert.equal(config['on-finish'], 'echo done');
    assert.equal(config['lease-timeout'], 30);
    assert.equal(resolveConfig({ retention: 'off', 'on-finish': ' ' }).retention, null);
    assert.equal(resolveConfig({ 'on-finish': ' ' })['on-finish'], null);
  });

  it('ignores keys it does not know', () => {
    assert.deepEqual(Object.keys(resolveConfig({ 'old-key': '1' })).sort(), [...CONFIG_KEY_NAMES].sort());
  });

  it('derives the backoff policy', () => {
    assert.deepEqual(backoffPolicy(resolveConfig({ 'backoff-base': '3', 'backoff-max': '60', 'backoff-jitter': '0.1' })), { base: 3, maxSeconds: 60, jitter: 0.1 });
  });
});

describe('CONFIG_KEYS', () => {
  it('describes every key, with a default that its own format and parse round-trip', () => {
    for (const key of CONFIG_KEY_NAMES) {
      const def = CONFIG_KEYS[key] as { default: number | string | null; description: string; parse(t: string): unknown; format(v: number | string | null): string };
      assert.ok(def.description.length > 10, key);
      assert.equal(def.parse(def.format(def.default)), def.default, key);
    }
    assert.equal(CONFIG_KEYS.retention.format(604_800_000), '7d0h');
  });

  it('reads 0 and off as off, durations with units, and shows a value as it was entered', () => {
    const config = resolveConfig({ retention: '0', 'job-timeout': '1h', 'backoff-max': '10m', 'lease-timeout': '45s' });
    assert.equal(config.retention, null, 'retention 0 keeps jobs forever');
    assert.equal(config['job-timeout'], 3600);
    assert.equal(config['backoff-max'], 600);
    assert.equal(config['lease-timeout'], 45);
    assert.equal(resolveConfig({ 'job-timeout': 'off' })['job-timeout'], 0);
    assert.equal(displayConfigValue('retention', '7d'), '7d');
    assert.equal(displayConfigValue('retention', undefined), 'off');
    assert.equal(displayConfigValue('lease-timeout', 'soon'), '30');
  });
});
