import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// --- Layers ---------------------------------------------------------------------------------------
// Who may import whom, checked on the import's text (sources import each other by relative path).
// Each group of files below gets one `@typescript-eslint/no-restricted-imports` setting holding
// every restriction that applies to it: a later setting of a rule replaces an earlier one, so the
// groups do not overlap. Regular expressions rather than globs: a glob can exclude, but not
// re-include what a broader glob excluded. test/eslint-layering.test.ts proves each rule.

/** `import x from '...'` resolving into src/<dir>/ from anywhere under src/, activities/ or workflows/. */
const into = (dirs) => `^(\\.\\.?/)+(src/)?(${dirs.join('|')})(/|$)`;

const NO_DEV = {
  regex: into(['dev']),
  caseSensitive: true,
  message:
    'src/dev is development tooling (the sandbox, the embedded Postgres, the dev stack, the bench): the product never imports it. Let the dev stack pass what it needs in.',
};
const NO_HTTP = {
  regex: into(['http']),
  caseSensitive: true,
  message:
    'src/http is the top layer: nothing below it (db, auth, discord, temporal, activities, workflows) imports it.',
};
const DB_IMPORTS_DOWNWARD_ONLY = {
  regex: `${into(['auth', 'temporal', 'http', 'discord', 'dev', 'bin'])}|^(\\.\\./)+(activities|workflows)(/|$)`,
  caseSensitive: true,
  message:
    'src/db is the bottom layer: it imports src/domain and itself only (a shared type goes into src/domain; hashing happens in the caller).',
};

/**
 * Workflow code runs in Temporal's deterministic sandbox and is bundled whole: at run time it may
 * import only the workflow SDK, the other files of workflows/, the pure src/domain, and the
 * contract modules of src/temporal (IDs, signals, queries, search attributes). Types cost nothing
 * at run time: the activities' signatures are how the proxies are typed.
 */
const WORKFLOW_ALLOWLIST = {
  regex:
    '^(?!' +
    [
      '@temporalio/workflow$',
      // Pure JavaScript (promises only), used for the role workflow's mutex.
      'async-mutex$',
      '\\./[\\w-]+\\.js$',
      '\\.\\./src/domain/[\\w-]+\\.js$',
      '\\.\\./src/temporal/(shared|search-attributes)\\.js$',
    ].join('|') +
    ')',
  caseSensitive: true,
  allowTypeImports: true,
  message:
    'Workflow code is deterministic and bundled whole: at run time it imports only @temporalio/workflow, workflows/, src/domain and the contract modules src/temporal/shared.ts and search-attributes.ts (`import type` for anything else).',
};
/** The contract modules the workflows import: pure as well. */
const CONTRACT_ALLOWLIST = {
  regex: '^(?!@temporalio/(workflow|common)$|\\./(shared|search-attributes)\\.js$|\\.\\./domain/[\\w-]+\\.js$)',
  caseSensitive: true,
  allowTypeImports: true,
  message:
    'src/temporal/shared.ts and search-attributes.ts are imported by the workflow bundle: only @temporalio/workflow, @temporalio/common and src/domain at run time.',
};
const DOMAIN_ALLOWLIST = {
  regex: '^(?!\\./[\\w-]+\\.js$)',
  caseSensitive: true,
  allowTypeImports: true,
  message: 'src/domain is pure (the workflows and the web UI import it): at run time it imports only src/domain.',
};

const WORKFLOW_FILES = ['workflows/**/*.ts', 'src/dev/bench/workflows.ts'];
const CONTRACT_FILES = ['src/temporal/shared.ts', 'src/temporal/search-attributes.ts'];

/** SQL goes through src/db: a query in a string anywhere else in the product is refused. */
const SQL = '/^\\s*(SELECT|INSERT\\s+INTO|UPDATE|DELETE\\s+FROM|WITH\\s+\\w+\\s+AS)\\s/';
const NO_SQL = [
  { selector: `Literal[value=${SQL}]`, message: 'SQL belongs in src/db: add a function there and call it.' },
  {
    selector: `TemplateLiteral > TemplateElement:first-child[value.raw=${SQL}]`,
    message: 'SQL belongs in src/db: add a function there and call it.',
  },
];

const restrict = (...patterns) => ['error', { patterns }];

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.cache/', '.data/', 'coverage/', 'test-results/', 'src/web/dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': ['error', { allow: ['error', 'warn'] }],
    },
  },

  // The product: everything but src/dev (and the tests). Below the HTTP layer, nothing imports it.
  {
    files: ['src/**/*.{ts,tsx}', 'activities/**/*.ts'],
    ignores: ['src/dev/**', 'src/http/**', 'src/bin/**', 'src/web/**', 'src/db/**', 'src/domain/**', ...CONTRACT_FILES],
    rules: {
      '@typescript-eslint/no-restricted-imports': restrict(NO_DEV, NO_HTTP),
      'no-restricted-syntax': ['error', ...NO_SQL],
    },
  },
  {
    files: ['src/http/**/*.ts', 'src/bin/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': restrict(NO_DEV),
      'no-restricted-syntax': ['error', ...NO_SQL],
    },
  },
  { files: ['src/web/**/*.{ts,tsx}'], rules: { '@typescript-eslint/no-restricted-imports': restrict(NO_DEV) } },
  {
    files: ['src/db/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': restrict(DB_IMPORTS_DOWNWARD_ONLY) },
  },
  {
    files: ['src/domain/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': restrict(DOMAIN_ALLOWLIST),
      'no-restricted-syntax': ['error', ...NO_SQL],
    },
  },
  {
    files: CONTRACT_FILES,
    rules: {
      '@typescript-eslint/no-restricted-imports': restrict(CONTRACT_ALLOWLIST),
      'no-restricted-syntax': ['error', ...NO_SQL],
    },
  },
  {
    files: WORKFLOW_FILES,
    rules: {
      '@typescript-eslint/no-restricted-imports': restrict(WORKFLOW_ALLOWLIST),
      'no-restricted-syntax': [
        'error',
        ...NO_SQL,
        { selector: 'ImportExpression', message: 'Workflow code imports statically (it is bundled whole).' },
      ],
    },
  },
);
