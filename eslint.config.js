import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
	{ ignores: ['dist/', 'node_modules/', 'coverage/'] },
	js.configs.recommended,
	...tseslint.configs.recommended,
	{
		languageOptions: { globals: { ...globals.node } },
		rules: {
			'@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
			'@typescript-eslint/consistent-type-imports': 'error',
			'no-console': 'error',
			eqeqeq: ['error', 'always'],
		},
	},
	{
		files: ['web/**/*.ts'],
		languageOptions: { globals: { ...globals.browser } },
		// The browser console is the client's log.
		rules: { 'no-console': ['error', { allow: ['warn', 'error'] }] },
	},
	{
		// core/ runs in both Node and the browser.
		files: ['core/**/*.ts'],
		languageOptions: { globals: { ...globals.es2022 } },
		rules: {
			'no-restricted-imports': ['error', { patterns: ['node:*', '../server/*', '../web/*'] }],
		},
	},
	{
		files: ['scripts/**/*.mjs', 'test/**/*.ts'],
		rules: { 'no-console': 'off' },
	},
);
