// Lint: typescript-eslint's recommended rules, no import cycles, and the one database seam (only src/store/** may
// import a database driver or hold SQL).
import tseslint from 'typescript-eslint';
import importPlugin from 'eslint-plugin-import';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bench/results.json'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { import: importPlugin },
    settings: {
      'import/resolver': { node: { extensions: ['.ts', '.js', '.json'] } },
      'import/extensions': ['.ts', '.js'],
      'import/parsers': { '@typescript-eslint/parser': ['.ts'] },
    },
    rules: {
      'import/no-cycle': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off',
      'no-control-regex': 'off',
    },
  },
  {
    // Plain CommonJS helpers (bench children) use require by nature.
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', process: 'readonly', module: 'writable', __dirname: 'readonly', console: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/store/**'],
    rules: {
      'no-restricted-imports': ['error', { paths: [
        { name: 'better-sqlite3', message: 'Only src/store/** talks to a database.' },
        { name: 'pg', message: 'Only src/store/** talks to a database.' },
      ] }],
      'no-restricted-syntax': ['error', {
        selector: 'TemplateLiteral > TemplateElement[value.raw=/\\b(SELECT|UPDATE|INSERT INTO|DELETE FROM)\\b/]',
        message: 'SQL belongs beside its adapter in src/store/.',
      }, {
        selector: 'Literal[value=/^\\s*(SELECT|UPDATE|INSERT INTO|DELETE FROM)\\b/]',
        message: 'SQL belongs beside its adapter in src/store/.',
      }],
    },
  },
);
