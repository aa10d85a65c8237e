/**
 * Forbids `await` (and `yield`) in the arguments of a call that an optional
 * chain can skip: `ack?.(await work())`, `a?.b(await work())`,
 * `a?.b.c(await work())`. When the chain short-circuits, JavaScript does not
 * evaluate the arguments, so the awaited work silently never happens. This
 * once kept every guide client (which passes no ack callback) out of
 * presence. Await first, then make the optional call with the result.
 *
 * @type {import('eslint').Rule.RuleModule}
 */
const rule = {
  meta: {
    type: 'problem',
    docs: { description: 'disallow await or yield inside the arguments of an optional call' },
    messages: {
      skipped:
        '`{{keyword}}` inside the arguments of an optional call is skipped when the chain short-circuits: ' +
        'await into a variable first, then call.',
    },
    schema: [],
  },
  create(context) {
    /** True when the callee's chain has an optional link that would skip this call. */
    function canShortCircuit(call) {
      if (call.optional) return true;
      let node = call.callee;
      while (node) {
        if (node.type === 'MemberExpression') {
          if (node.optional) return true;
          node = node.object;
        } else if (node.type === 'CallExpression') {
          if (node.optional) return true;
          node = node.callee;
        } else {
          return false;
        }
      }
      return false;
    }

    function check(node, keyword) {
      let child = node;
      for (const ancestor of [...context.sourceCode.getAncestors(node)].reverse()) {
        if (
          ancestor.type === 'FunctionDeclaration' ||
          ancestor.type === 'FunctionExpression' ||
          ancestor.type === 'ArrowFunctionExpression'
        ) {
          return;
        }
        if (ancestor.type === 'CallExpression' && ancestor.arguments.includes(child) && canShortCircuit(ancestor)) {
          context.report({ node, messageId: 'skipped', data: { keyword } });
          return;
        }
        child = ancestor;
      }
    }

    return {
      AwaitExpression: (node) => check(node, 'await'),
      YieldExpression: (node) => check(node, 'yield'),
    };
  },
};

export default rule;
