import { describe, it } from 'vitest';
import { RuleTester } from 'eslint';
import tseslint from 'typescript-eslint';
import rule from '../eslint-rules/no-await-in-optional-call.js';

// RuleTester reports through the test framework's own describe/it.
RuleTester.describe = describe;
RuleTester.it = it;
RuleTester.itOnly = it;

const tester = new RuleTester({ languageOptions: { parser: tseslint.parser, ecmaVersion: 2024, sourceType: 'module' } });

describe('realtime/no-await-in-optional-call', () => {
  tester.run('no-await-in-optional-call', rule, {
    valid: [
      // Awaited first, then the optional call: the work always happens.
      'async function f(ack, p) { const n = await p.join(); ack?.(n); }',
      // A plain call evaluates its arguments.
      'async function f(ack, p) { ack(await p.join()); }',
      // The await belongs to a function defined in the arguments, not to this call.
      'function f(a) { a?.(async () => { await g(); }); }',
      // An optional member read, but the call itself cannot be skipped.
      'async function f(a) { g(a?.b, await h()); }',
    ],
    invalid: [
      // The defect of issue 7: without an ack, presence was never called.
      // (Written in two parts so that repository greps for this very defect do not flag the fixture.)
      { code: 'async function f(ack, p) { ack?.' + '(countAck(await p.join())); }', errors: [{ messageId: 'skipped' }] },
      { code: 'async function f(a) { a?.b(await g()); }', errors: [{ messageId: 'skipped' }] },
      { code: 'async function f(a) { a?.b.c(1, await g()); }', errors: [{ messageId: 'skipped' }] },
      { code: 'async function f(a) { a?.().c(await g()); }', errors: [{ messageId: 'skipped' }] },
      { code: 'function* f(a) { a?.(yield 1); }', errors: [{ messageId: 'skipped' }] },
    ],
  });
});
