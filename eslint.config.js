import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// --- Layers ---------------------------------------------------------------------------------------
// Who may import whom, checked on the import's text (sources import each other by relative path).
// Each group of files below gets one `@typescript-eslint/no-restricted-imports` and one
// `no-restricted-syntax` setting holding every restriction that applies to it (the latter for SQL
// and `import()`): a later setting of a rule replaces an earlier one, so the groups do not overlap. Regular expressions rather than globs: a glob can exclude, but not
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
const NO_WORKFLOWS = {
  regex: '^(\\.\\.?/)+workflows(/|$)',
  caseSensitive: true,
  allowTypeImports: true,
  message:
    "workflows/ runs only inside the worker's workflow bundle, which Temporal loads by path (src/temporal/workflow-bundle.ts): the product imports it as `import type` only (typed workflow starts).",
};
/**
 * src/db is the bottom layer: at run time and in types it imports only itself (`./x.js`), the pure
 * src/domain and packages (npm, `node:`). Anything else (config, logger, metrics, auth, ...) is
 * passed in by the caller.
 */
const DB_ALLOWLIST = {
  regex: '^(?!\\./[\\w-]+\\.js$|\\.\\./domain/[\\w-]+\\.js$|[@\\w])',
  caseSensitive: true,
  message:
    'src/db is the bottom layer: it imports only src/db itself, src/domain and packages (a shared type goes into src/domain; configuration, logging and hashing stay with the caller).',
};

/**
 * Workflow code runs in Temporal's deterministic sandbox and is bundled whole: at run time it may
 * import only the workflow SDK, async-mutex, the other files of workflows/, the pure src/domain,
 * and the contract modules of src/temporal (IDs, signals, queries, search attributes). Types cost nothing
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
    'Workflow code is deterministic and bundled whole: at run time it imports only @temporalio/workflow, async-mutex, workflows/, src/domain and the contract modules src/temporal/shared.ts and search-attributes.ts (`import type` for anything else).',
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

/** The bench's no-op workflow is bundled alone (src/dev/bench/main.ts): the workflow SDK only, no `./` sibling. */
const BENCH_WORKFLOW_ALLOWLIST = {
  regex: '^(?!@temporalio/workflow$)',
  caseSensitive: true,
  allowTypeImports: true,
  message:
    'src/dev/bench/workflows.ts is bundled alone as workflow code: at run time it imports only @temporalio/workflow (its neighbours in src/dev/bench do I/O).',
};

const WORKFLOW_FILES = ['workflows/**/*.ts'];
const BENCH_WORKFLOW_FILES = ['src/dev/bench/workflows.ts'];
const CONTRACT_FILES = ['src/temporal/shared.ts', 'src/temporal/search-attributes.ts'];

/**
 * SQL goes through src/db: a query in a string anywhere else in the product is refused. The string
 * (or a template's first part) must start like a statement, in any case: `select` followed by what
 * a select list looks like (`*`, a number, `$1`, `distinct`, `exists`, a call, a subquery, `x AS y,`,
 * or a list of names then `from`), `insert into`, `update x set`, `delete from x` then `where`/the
 * end, `truncate x`, `with recursive`, `with x as (`, DDL, `merge into`, `lock table`; and a
 * template starting with an upper-case `SELECT ` then an interpolation (src/db's `SELECT ${COLUMNS}`;
 * `Select ${n} applications` is English). English such as "Select a server from the list", "Update
 * your settings" or "Truncated to 100 characters" does not look like that.
 */
const SQL =
  '/^\\s*(' +
  [
    '\\(\\s*select\\b',
    'select\\s+(\\*|\\d|\\$\\d|distinct\\b|exists\\b|\\w+\\(|[\\s\\S]*\\(\\s*select\\b|[\\w.*"]+(::\\w+)?\\s+as\\s+\\w+\\s*,|[\\w.*"]+(\\s+as\\s+\\w+)?(\\s*,\\s*[\\w.*"()]+(\\s+as\\s+\\w+)?)*\\s+from\\s)',
    'insert\\s+into\\s',
    'update\\s+[\\w."]+(\\s+(as\\s+)?\\w+)?\\s+set\\s',
    'delete\\s+from\\s+[\\w."]+\\s*(where\\b|using\\b|returning\\b|;|$)',
    'truncate\\s+(table\\s+)?[\\w."]+\\s*(,|;|$|restart\\b|continue\\b|cascade\\b|restrict\\b)',
    'with\\s+recursive\\b',
    'with\\s+\\w+(\\s*\\([\\w\\s,]*\\))?\\s+as\\s+(not\\s+)?(materialized\\s+)?\\(',
    '(create|alter|drop)\\s+(table|index|unique\\s+index|view|materialized\\s+view|sequence|type|schema|database|extension|function|trigger)\\b',
    'merge\\s+into\\s',
    'lock\\s+table\\s',
  ].join('|') +
  ')/i';
const NO_SQL = [
  { selector: `Literal[value=${SQL}]`, message: 'SQL belongs in src/db: add a function there and call it.' },
  {
    selector: `TemplateLiteral > TemplateElement:first-child[value.raw=${SQL}]`,
    message: 'SQL belongs in src/db: add a function there and call it.',
  },
  {
    selector:
      'TemplateLiteral[expressions.length>0] > TemplateElement:first-child[value.raw=/^\\s*\\(?\\s*SELECT\\s+$/]',
    message: 'SQL belongs in src/db: add a function there and call it.',
  },
];

/** Code bundled into the workflows (workflow files, src/domain, the contract modules) imports statically. */
const NO_DYNAMIC_IMPORT = {
  selector: 'ImportExpression',
  message: 'This file is bundled into the deterministic workflow code: import statically (it is bundled whole).',
};
/**
 * `await import(...)` is held to the same patterns as a static import: its source must be a string
 * literal (so the rules can read it), and it must not match the pattern. (`typeof import('...')` is a
 * type, not an ImportExpression.) `\x2F` is `/`: a selector's regular expression cannot hold one.
 */
const NON_LITERAL_IMPORT = {
  selector: "ImportExpression[source.type!='Literal']",
  message: 'import() takes a string literal here, so the layering rules can check it.',
};
const dynamicImport = ({ regex, message }) => ({
  selector: `ImportExpression[source.value=/${regex.replaceAll('/', '\\x2F')}/]`,
  message,
});

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
      '@typescript-eslint/no-restricted-imports': restrict(NO_DEV, NO_HTTP, NO_WORKFLOWS),
      'no-restricted-syntax': [
        'error',
        ...NO_SQL,
        NON_LITERAL_IMPORT,
        ...[NO_DEV, NO_HTTP, NO_WORKFLOWS].map(dynamicImport),
      ],
    },
  },
  {
    files: ['src/http/**/*.ts', 'src/bin/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': restrict(NO_DEV, NO_WORKFLOWS),
      'no-restricted-syntax': ['error', ...NO_SQL, NON_LITERAL_IMPORT, ...[NO_DEV, NO_WORKFLOWS].map(dynamicImport)],
    },
  },
  {
    files: ['src/web/**/*.{ts,tsx}'],
    rules: {
      '@typescript-eslint/no-restricted-imports': restrict(NO_DEV, NO_WORKFLOWS),
      'no-restricted-syntax': ['error', NON_LITERAL_IMPORT, ...[NO_DEV, NO_WORKFLOWS].map(dynamicImport)],
    },
  },
  {
    files: ['src/db/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': restrict(DB_ALLOWLIST),
      'no-restricted-syntax': ['error', NON_LITERAL_IMPORT, dynamicImport(DB_ALLOWLIST)],
    },
  },
  {
    files: ['src/domain/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': restrict(DOMAIN_ALLOWLIST),
      'no-restricted-syntax': ['error', ...NO_SQL, NO_DYNAMIC_IMPORT],
    },
  },
  {
    files: CONTRACT_FILES,
    rules: {
      '@typescript-eslint/no-restricted-imports': restrict(CONTRACT_ALLOWLIST),
      'no-restricted-syntax': ['error', ...NO_SQL, NO_DYNAMIC_IMPORT],
    },
  },
  {
    files: WORKFLOW_FILES,
    rules: {
      '@typescript-eslint/no-restricted-imports': restrict(WORKFLOW_ALLOWLIST),
      'no-restricted-syntax': ['error', ...NO_SQL, NO_DYNAMIC_IMPORT],
    },
  },
  {
    files: BENCH_WORKFLOW_FILES,
    rules: {
      '@typescript-eslint/no-restricted-imports': restrict(BENCH_WORKFLOW_ALLOWLIST),
      'no-restricted-syntax': ['error', ...NO_SQL, NO_DYNAMIC_IMPORT],
    },
  },
);
