// Lint: typescript-eslint's recommended rules, no import cycles, the floors of src/ (which folder may import which),
// and the one database seam (only src/store/** may import a database driver or hold SQL).
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
    // The floors (docs/ARCHITECTURE.md): each folder imports only from the floors below it. core/ and platform/ are
    // the ground floor and import nothing of ours beyond themselves; store/ builds on core; queue.ts and worker/ build
    // on the store; cli/, dashboard/ and index.ts are the top. import/no-cycle catches circles within a floor.
    files: ['src/**/*.ts'],
    rules: {
      'import/no-restricted-paths': ['error', { zones: [
        { target: './src/core', from: './src', except: ['./core'], message: 'src/core is the ground floor: it imports nothing of ours outside core.' },
        { target: './src/platform', from: './src', except: ['./platform'], message: 'src/platform is the ground floor: it imports nothing of ours outside platform.' },
        { target: './src/store', from: './src', except: ['./store', './core'], message: 'src/store imports only core.' },
        { target: './src/queue.ts', from: ['./src/worker', './src/cli', './src/dashboard', './src/index.ts'], message: 'The Queue builds on the Store interface, never on a worker, the CLI or the dashboard.' },
        { target: './src/worker', from: ['./src/queue.ts', './src/cli', './src/dashboard', './src/index.ts'], message: 'The worker speaks to the Store, never to the Queue, the CLI or the dashboard.' },
      ] }],
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
