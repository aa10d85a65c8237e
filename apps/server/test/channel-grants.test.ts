import { describe, expect, it } from 'vitest';
import { allows, globMatches, operationsFor, parseChannelGrants, type ChannelGrants } from '../src/auth/channel-grants.js';

function grants(value: unknown): ChannelGrants {
  const parsed = parseChannelGrants(value);
  if (typeof parsed === 'string') throw new Error(parsed);
  return parsed;
}

describe('globMatches: `*` is any run of characters, the empty run included', () => {
  it.each([
    ['*', '', true],
    ['*', 'anything', true],
    ['chat-*', 'chat-', true],
    ['chat-*', 'chat-lobby', true],
    ['chat-*', 'chat', false],
    ['*-room', 'x-room', true],
    ['*-room', '-room', true],
    ['a*b*c', 'abc', true],
    ['a*b*c', 'aXbYc', true],
    ['a*b*c', 'aXbY', false],
    ['a**b', 'ab', true],
    ['news', 'news', true],
    ['news', 'newsy', false],
    ['n.ws', 'news', false],
    ['[a]', '[a]', true],
  ])('%s against %s: %s', (pattern, text, expected) => {
    expect(globMatches(pattern, text)).toBe(expected);
  });

  it('stays fast on patterns that make a regular expression backtrack', () => {
    const started = performance.now();
    expect(globMatches('*a*a*a*a*a*a*a*a*a*a*b', 'a'.repeat(256))).toBe(false);
    expect(performance.now() - started).toBeLessThan(200);
  });
});

describe('the winning pattern', () => {
  const claim = grants({ 'chat-*': ['join', 'publish'], 'chat-readonly-*': ['join'], news: ['join'], '*': [] });

  it('is the exact id when present', () => {
    expect([...operationsFor(claim, 'news')]).toEqual(['join']);
  });

  it('else the matching pattern with the most non-* characters, whose operations alone apply', () => {
    expect([...operationsFor(claim, 'chat-lobby')].sort()).toEqual(['join', 'publish']);
    expect([...operationsFor(claim, 'chat-readonly-1')]).toEqual(['join']);
    expect(allows(claim, 'chat-readonly-1', 'publish')).toBe(false);
    expect([...operationsFor(claim, 'other')]).toEqual([]);
  });

  it('an exact id beats a longer pattern, and an exact entry with no operations denies', () => {
    const g = grants({ 'secret-channel-*': ['join', 'publish'], 'secret-channel-x': [] });
    expect(allows(g, 'secret-channel-x', 'join')).toBe(false);
    expect(allows(g, 'secret-channel-y', 'join')).toBe(true);
  });

  it('no matching pattern allows nothing', () => {
    const g = grants({ 'chat-*': ['join'] });
    expect(allows(g, 'news', 'join')).toBe(false);
    expect(allows(g, 'news', 'publish')).toBe(false);
  });

  it('ignores unknown operations', () => {
    const g = grants({ '*': ['join', 'admin', 'presence'] });
    expect([...operationsFor(g, 'x')]).toEqual(['join']);
  });

  it('refuses values that are not an object of string arrays, naming the problem', () => {
    expect(parseChannelGrants(['join'])).toMatch(/object/);
    expect(parseChannelGrants(null)).toMatch(/object/);
    expect(parseChannelGrants('*')).toMatch(/object/);
    expect(parseChannelGrants({ '*': 'join' })).toMatch(/array of strings/);
    expect(parseChannelGrants({ '*': [1] })).toMatch(/array of strings/);
  });
});
