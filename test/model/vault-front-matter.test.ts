import { describe, expect, it } from 'vitest';
import { HephError } from '../../src/core/errors.js';
import {
  parseFrontMatter,
  serializeFrontMatter,
  splitFrontMatter,
  type FrontMatter,
} from '../../src/model/front-matter.js';

function roundTrip(data: FrontMatter): FrontMatter {
  const text = serializeFrontMatter(data) + 'body';
  const split = splitFrontMatter(text);
  expect(split?.body).toBe('body');
  return parseFrontMatter(split!.yaml);
}

describe('front matter', () => {
  it('splits only a closed block at the very start', () => {
    expect(splitFrontMatter('---\na: 1\n---\nbody\n---\n')).toEqual({
      yaml: 'a: 1\n',
      body: 'body\n---\n',
    });
    expect(splitFrontMatter('---\r\na: 1\r\n---\r\nx')).toEqual({ yaml: 'a: 1\r\n', body: 'x' });
    expect(splitFrontMatter('---\na: 1\n...\n')).toEqual({ yaml: 'a: 1\n', body: '' });
    expect(splitFrontMatter('---\na: 1\n---')).toEqual({ yaml: 'a: 1\n', body: '' });
    expect(splitFrontMatter('---\n---\nx')).toEqual({ yaml: '', body: 'x' });
    expect(splitFrontMatter('---\na: 1\nno end')).toBeUndefined();
    expect(splitFrontMatter('text\n---\na: 1\n---\n')).toBeUndefined();
    expect(splitFrontMatter('----\na: 1\n---\n')).toBeUndefined();
  });

  it('reads scalars, quoted strings, lists, nulls, booleans and numbers', () => {
    const fm = parseFrontMatter(
      [
        'title: Note: part 2',
        'plain: hello world # a comment',
        "single: 'it''s # not a comment'",
        'double: "tab\\there \\"q\\" \\u00e9"',
        'empty:',
        'tilde: ~',
        'yes: true',
        'no: False',
        'int: 42',
        'neg: -3.5e2',
        'zero-lead: 007',
        'date: 2024-01-05',
        'big: 12345678901234567890',
        'aliases:',
        '  - one',
        '  - "two: 2"',
        '  - 3',
        'flat:',
        '- a',
        '- b',
        'flow: [a, "b, c", 3, null]',
        'json: {"x": [1, 2]}',
        'cssclasses:',
        'nested:',
        '  inner: 1',
        '  other: [x]',
        'lit: |',
        '  line 1',
        '    indented',
        '',
        'folded: >-',
        '  a',
        '  b',
        '"quoted key": 1',
      ].join('\n'),
    );
    expect(fm).toEqual({
      title: 'Note: part 2',
      plain: 'hello world',
      single: "it's # not a comment",
      double: 'tab\there "q" é',
      empty: null,
      tilde: null,
      yes: true,
      no: false,
      int: 42,
      neg: -350,
      'zero-lead': '007',
      date: '2024-01-05',
      big: '12345678901234567890',
      aliases: ['one', 'two: 2', 3],
      flat: ['a', 'b'],
      flow: ['a', 'b, c', 3, null],
      json: { x: [1, 2] },
      cssclasses: null,
      lit: 'line 1\n  indented\n',
      folded: 'a b',
      'quoted key': 1,
    });
  });

  it('refuses broken YAML with the line number', () => {
    for (const [yaml, line] of [
      ['a: 1\ntitle: "unterminated', 2],
      ["a: 'open", 1],
      ['just text', 1],
      ['a: 1\na: 2', 2],
      ['  indented: 1', 1],
      ['a: [1, 2', 1],
      ['a: "bad \\q escape"', 1],
      ['a: {not json}', 1],
      ['list:\n  - a\n - b', 3],
      ['a:\n\t- x', 2],
    ] as const) {
      let err: unknown;
      try {
        parseFrontMatter(yaml);
      } catch (e) {
        err = e;
      }
      expect(err, yaml).toBeInstanceOf(HephError);
      expect((err as HephError).code).toBe('invalid_params');
      expect((err as HephError).message).toContain(`line ${line}`);
    }
  });

  it('writes values that read back as themselves, tricky strings included', () => {
    const tricky = [
      '',
      ' lead',
      'trail ',
      'a: b',
      'ends:',
      'x #y',
      '#tag',
      '- dash',
      '-dash',
      '--',
      '---',
      '...',
      'true',
      'null',
      '~',
      '12',
      '1.5',
      '007',
      "it's",
      '"quoted"',
      'back\\slash',
      'new\nline',
      'tab\tin',
      'Überblick ermöglichen 日本語 😃',
      '[x] box',
      '{x}',
      'a, b',
      '*star',
      '&amp',
      '!bang',
      '|pipe',
      '>gt',
      '%pct',
      '@at',
      '`tick`',
      'line\u2028sep',
      '\u00a0nbsp',
      'ctl\u0001',
      'tag:work',
      'https://example.com/a?b=c#d',
    ];
    const data: FrontMatter = { list: tricky, empty: [], n: null, t: true, f: false, num: -0.25 };
    tricky.forEach((s, i) => (data[`k${i}`] = s));
    data.obj = { a: 'x: y', b: [1, null, '\u2029'] };
    expect(roundTrip(data)).toEqual(data);
  });

  it('writes plain text plainly and keeps key order', () => {
    expect(serializeFrontMatter({ id: 'tag:work', title: 'Pay rent', aliases: ['a', 'b c'] })).toBe(
      '---\nid: tag:work\ntitle: Pay rent\naliases:\n  - a\n  - b c\n---\n',
    );
  });
});
