// Wiki links are derived on every replica from the merged body, so extraction must be exact and
// deterministic; unchecking checklist boxes must touch nothing but the box.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  extractTaskCheckboxes,
  extractWikiLinks,
  uncheckBoxes,
  wikiTargetsMayDiffer,
  type WikiLink,
} from '../../src/core/extract.js';

const SEED = 0xe47ac7;

describe('extractWikiLinks: link forms', () => {
  const cases: [string, string, WikiLink[]][] = [
    ['plain', 'see [[Target]] now', [{ target: 'Target' }]],
    ['label', '[[Target|shown text]]', [{ target: 'Target', label: 'shown text' }]],
    ['heading', '[[Target#Some Heading]]', [{ target: 'Target', heading: 'Some Heading' }]],
    [
      'heading and label',
      '[[Target#Heading|label]]',
      [{ target: 'Target', heading: 'Heading', label: 'label' }],
    ],
    ['ulid', '[[01J0000000000000000000000A]]', [{ target: '01J0000000000000000000000A' }]],
    ['block reference', '[[Note#^abc123]]', [{ target: 'Note', heading: '^abc123' }]],
    ['trimmed', '[[  Spaced Out  |  label  ]]', [{ target: 'Spaced Out', label: 'label' }]],
    ['trimmed heading', '[[ A # H ]]', [{ target: 'A', heading: 'H' }]],
    ['inner spaces kept', '[[a  b]]', [{ target: 'a  b' }]],
    ['unicode', '[[Café über]]', [{ target: 'Café über' }]],
    ['second pipe stays in label', '[[a|b|c]]', [{ target: 'a', label: 'b|c' }]],
    ['second hash stays in heading', '[[a#b#c]]', [{ target: 'a', heading: 'b#c' }]],
    ['hash after pipe is label text', '[[a|b#c]]', [{ target: 'a', label: 'b#c' }]],
    ['table-escaped pipe', '| [[a\\|b]] |', [{ target: 'a', label: 'b' }]],
    ['empty label dropped', '[[a|]]', [{ target: 'a' }]],
    ['blank label dropped', '[[a|   ]]', [{ target: 'a' }]],
    ['empty heading dropped', '[[a#]]', [{ target: 'a' }]],
    [
      'several in order',
      '[[b]] then [[a]] then [[b]]',
      [{ target: 'b' }, { target: 'a' }, { target: 'b' }],
    ],
    ['adjacent', '[[a]][[b]]', [{ target: 'a' }, { target: 'b' }]],
    ['at end of line', 'x [[a]]', [{ target: 'a' }]],
    ['in a heading', '# Title [[a]]', [{ target: 'a' }]],
    ['in a list item', '- item [[a]]', [{ target: 'a' }]],
    ['in a block quote', '> quoted [[a]]', [{ target: 'a' }]],
    ['indented (indented code is not recognised)', '    [[a]]', [{ target: 'a' }]],
    ['extra opening bracket', '[[[a]]]', [{ target: 'a' }]],
    ['innermost link wins', '[[a [[b]] c]]', [{ target: 'b' }]],
    ['CRLF lines', 'x [[a]]\r\ny [[b]]\r\n', [{ target: 'a' }, { target: 'b' }]],
    ['CR lines', 'x [[a]]\ry [[b]]', [{ target: 'a' }, { target: 'b' }]],
    ['link with punctuation', '[[Q&A: what? (2026)]]', [{ target: 'Q&A: what? (2026)' }]],
  ];
  it.each(cases)('%s', (_name, body, want) => {
    expect(extractWikiLinks(body)).toEqual(want);
  });

  it('omits label and heading keys rather than setting them undefined', () => {
    const [link] = extractWikiLinks('[[a]]');
    expect(Object.keys(link ?? {})).toEqual(['target']);
  });
});

describe('extractWikiLinks: not links', () => {
  it.each([
    ['empty', '[[]]'],
    ['blank', '[[   ]]'],
    ['only a label', '[[|label]]'],
    ['same-note heading', '[[#Heading]]'],
    ['same-note heading with label', '[[ #Heading|x]]'],
    ['single brackets', '[a] [b]'],
    ['markdown link', '[text](url)'],
    ['unclosed', '[[a'],
    ['closed by one bracket', '[[a]'],
    ['bracket inside', '[[a [b] c]]'],
    ['closing bracket inside', '[[a]b]]'],
    ['spans lines', '[[a\nb]]'],
    ['embed', '![[image.png]]'],
    ['embed with label', '![[Note|x]]'],
    ['escaped opening', '\\[[a]]'],
    ['backtick inside', '[[a`b]]'],
    ['plain text', 'no links here'],
    ['empty body', ''],
  ])('%s: %j', (_name, body) => {
    expect(extractWikiLinks(body)).toEqual([]);
  });

  it('an escaped bang is not an embed', () => {
    expect(extractWikiLinks('\\![[a]]')).toEqual([{ target: 'a' }]);
  });

  it('an embed next to a link does not hide the link', () => {
    expect(extractWikiLinks('![[pic.png]] and [[a]]')).toEqual([{ target: 'a' }]);
    expect(extractWikiLinks('!![[a]]')).toEqual([]);
    expect(extractWikiLinks('! [[a]]')).toEqual([{ target: 'a' }]);
  });
});

describe('extractWikiLinks: code', () => {
  const cases: [string, string, string[]][] = [
    ['inline code', 'a `[[no]]` [[yes]]', ['yes']],
    ['double-backtick code', 'a ``x ` [[no]]`` [[yes]]', ['yes']],
    ['code span needs an equal run to close', 'a ``[[no]]` still code`` [[yes]]', ['yes']],
    ['unclosed backtick is literal', 'a ` [[yes]]', ['yes']],
    ['unclosed double backtick is literal', 'a `` [[yes]] `', ['yes']],
    ['escaped backtick opens nothing', 'a \\` [[yes]] `', ['yes']],
    ['code spans stay on one line', 'a `x\n[[yes]] y`', ['yes']],
    ['backtick fence', 'before [[a]]\n```\n[[no]]\n```\nafter [[b]]', ['a', 'b']],
    ['tilde fence', '~~~\n[[no]]\n~~~\n[[b]]', ['b']],
    ['fence with info string', '```ts title="x"\n[[no]]\n```\n[[b]]', ['b']],
    ['longer fence', '````\n```\n[[no]]\n```\n[[no2]]\n````\n[[b]]', ['b']],
    ['close must be at least as long', '````\n[[no]]\n```\n[[no2]]\n````\n[[b]]', ['b']],
    ['close must use the same character', '```\n~~~\n[[no]]\n```\n[[b]]', ['b']],
    ['closing fence takes no info string', '```\n``` js\n[[no]]\n```\n[[b]]', ['b']],
    ['unclosed fence runs to the end', '[[a]]\n```\n[[no]]\n\n[[no2]]', ['a']],
    ['indented fence', '- item\n    ```\n    [[no]]\n    ```\n[[b]]', ['b']],
    ['fence in a block quote', '> ```\n> [[no]]\n> ```\n> [[b]]', ['b']],
    ['CRLF fence', '```\r\n[[no]]\r\n```\r\n[[b]]', ['b']],
    ['backticks in info string make inline code', '```js``` [[a]]', ['a']],
    ['two backticks are not a fence', '``\n[[a]]\n``', ['a']],
    ['tilde fence info may hold backticks', '~~~ a`b\n[[no]]\n~~~\n[[b]]', ['b']],
  ];
  it.each(cases)('%s', (_name, body, want) => {
    expect(extractWikiLinks(body).map((l) => l.target)).toEqual(want);
  });
});

describe('extractWikiLinks: properties', () => {
  const alphabet = fc.constantFrom(
    'a',
    'B',
    ' ',
    '[',
    ']',
    '|',
    '#',
    '`',
    '!',
    '\\',
    '\n',
    '~',
    'é',
  );
  const body = fc.array(alphabet, { maxLength: 80 }).map((cs) => cs.join(''));

  it('is total and every result is trimmed, non-empty and bracket-free', () => {
    fc.assert(
      fc.property(body, (b) => {
        for (const l of extractWikiLinks(b)) {
          expect(l.target).toBe(l.target.trim());
          expect(l.target).not.toBe('');
          expect(l.target).not.toMatch(/[[\]\n`]/);
          if (l.label !== undefined) expect(l.label).toBe(l.label.trim());
          if (l.label !== undefined) expect(l.label).not.toBe('');
        }
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  it('finds a link wrapped in ordinary prose', () => {
    const word = fc.stringMatching(/^[A-Za-z0-9 ]{0,12}$/);
    fc.assert(
      fc.property(
        word,
        fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9 ]{0,10}[A-Za-z0-9]$/),
        word,
        (pre, t, post) => {
          expect(extractWikiLinks(`${pre}[[${t}]]${post}`)).toEqual([{ target: t }]);
        },
      ),
      { seed: SEED, numRuns: 200 },
    );
  });
});

describe('wikiTargetsMayDiffer', () => {
  const targets = (b: string) => [...new Set(extractWikiLinks(b).map((l) => l.target))].sort();
  const piece = fc.constantFrom(
    'a',
    'B c',
    '[[',
    ']]',
    '[[Note]]',
    '[[Other|x]]',
    '![[Pic]]',
    '|',
    '#',
    '`',
    '```',
    '~~~',
    '> ',
    '\n',
    '\r\n',
    '\r',
  );
  const body = fc.array(piece, { maxLength: 40 }).map((ps) => ps.join(''));
  const edit = fc
    .tuple(body, fc.nat(), fc.nat(4), fc.array(piece, { maxLength: 2 }))
    .map(([a, at, remove, insert]) => {
      const i = at % (a.length + 1);
      return [a, a.slice(0, i) + insert.join('') + a.slice(i + remove)] as const;
    });

  it('says false only when the link targets are the same set (property)', () => {
    console.log(`wikiTargetsMayDiffer property: seed ${SEED}`);
    let sure = 0;
    fc.assert(
      fc.property(fc.oneof(edit, fc.tuple(body, body)), ([a, b]) => {
        if (wikiTargetsMayDiffer(a, b)) return;
        sure++;
        expect(targets(b)).toEqual(targets(a));
      }),
      { seed: SEED, numRuns: 2000 },
    );
    // Not vacuous: many edits are known to leave the links alone.
    expect(sure).toBeGreaterThan(200);
  });

  it('spares a long note the extraction when typing leaves its links alone', () => {
    const note = Array.from({ length: 500 }, (_, i) => `Line ${i} links [[Note ${i}]].\n`).join('');
    const at = note.indexOf('Line 250') + 4;
    expect(wikiTargetsMayDiffer(note, `${note.slice(0, at)}x${note.slice(at)}`)).toBe(false);
    // Typing into a link, a fence line, or a new link: they may differ.
    const inLink = note.indexOf('[[Note 250]]') + 4;
    expect(wikiTargetsMayDiffer(note, `${note.slice(0, inLink)}x${note.slice(inLink)}`)).toBe(true);
    expect(wikiTargetsMayDiffer(note, `${note.slice(0, at)}\n\`\`\`\n${note.slice(at)}`)).toBe(
      true,
    );
    // A fence of tildes as well, though the changed lines hold no link.
    expect(wikiTargetsMayDiffer(note, `${note.slice(0, at)}\n~~~\n${note.slice(at)}`)).toBe(true);
    expect(wikiTargetsMayDiffer(`a\n~~~\nb\n[[X]]\n`, `a\n~~\nb\n[[X]]\n`)).toBe(true);
    expect(wikiTargetsMayDiffer(note, `${note.slice(0, at)}[[New]]${note.slice(at)}`)).toBe(true);
    // Inside a fence the links are not links either way, but a fence line always counts.
    const fenced = '```\n[[A]]\n```\n';
    expect(wikiTargetsMayDiffer(fenced, '```\n[[A]]x\n```\n')).toBe(false);
    expect(wikiTargetsMayDiffer(fenced, '```x\n[[A]]\n```\n')).toBe(true);
  });
});

describe('extractTaskCheckboxes', () => {
  it('lists checklist items with their line and state', () => {
    const body = [
      '# Steps',
      '- [ ] first',
      '- [x] second',
      '* [X] third',
      '+ [ ] fourth',
      '1. [x] fifth',
      '2) [ ]   sixth  ',
      '  - [x] nested',
      '> - [x] quoted',
      '- [x]',
      'plain [x] text',
      '-[x] no space',
      '- [x]no space after',
      '- [-] other marker',
      '- [ x] malformed',
      '```',
      '- [x] in code',
      '```',
    ].join('\n');
    expect(extractTaskCheckboxes(body)).toEqual([
      { line: 1, checked: false, text: 'first' },
      { line: 2, checked: true, text: 'second' },
      { line: 3, checked: true, text: 'third' },
      { line: 4, checked: false, text: 'fourth' },
      { line: 5, checked: true, text: 'fifth' },
      { line: 6, checked: false, text: 'sixth' },
      { line: 7, checked: true, text: 'nested' },
      { line: 8, checked: true, text: 'quoted' },
      { line: 9, checked: true, text: '' },
    ]);
  });

  it('counts CRLF lines like LF lines', () => {
    expect(extractTaskCheckboxes('a\r\n- [x] b\r\n')).toEqual([
      { line: 1, checked: true, text: 'b' },
    ]);
  });
});

describe('uncheckBoxes', () => {
  it.each([
    ['dash', '- [x] a', '- [ ] a'],
    ['star upper-case', '* [X] a', '* [ ] a'],
    ['plus', '+ [x] a', '+ [ ] a'],
    ['ordered dot', '1. [x] a', '1. [ ] a'],
    ['ordered paren', '12) [x] a', '12) [ ] a'],
    ['nested with tab', '\t- [x] a', '\t- [ ] a'],
    ['quoted', '> - [X] a', '> - [ ] a'],
    ['box at line end', '- [x]', '- [ ]'],
    ['tab after box', '- [x]\ta', '- [ ]\ta'],
    ['already unchecked', '- [ ] a', '- [ ] a'],
    ['other markers untouched', '- [-] a\n- [>] b', '- [-] a\n- [>] b'],
    ['not at item start', '- a [x] b', '- a [x] b'],
    ['no list marker', '[x] a', '[x] a'],
    ['no space after box', '- [x]a', '- [x]a'],
    ['fenced code untouched', '```\n- [x] a\n```\n- [x] b', '```\n- [x] a\n```\n- [ ] b'],
    ['unclosed fence', '- [x] a\n~~~\n- [x] b', '- [ ] a\n~~~\n- [x] b'],
    ['CRLF kept', '- [x] a\r\n- [X] b\r\n', '- [ ] a\r\n- [ ] b\r\n'],
    ['CR kept', '- [x] a\r- [x] b', '- [ ] a\r- [ ] b'],
    ['trailing spaces and other text kept', '  - [x] a [x]  \nfoo', '  - [ ] a [x]  \nfoo'],
    ['empty', '', ''],
  ])('%s', (_name, body, want) => {
    expect(uncheckBoxes(body)).toBe(want);
  });

  it('changes only box characters, leaves no checked box, and is idempotent (property)', () => {
    const line = fc.oneof(
      fc.constantFrom('- [x] a', '* [X] b', '1. [x] c', '- [ ] d', '```', '~~~', '> - [x] e', ''),
      fc.string({ maxLength: 12 }),
    );
    const eol = fc.constantFrom('\n', '\r\n', '\r');
    const body = fc
      .array(fc.tuple(line, eol), { maxLength: 15 })
      .map((ls) => ls.map(([l, e]) => l + e).join(''));
    fc.assert(
      fc.property(body, (b) => {
        const out = uncheckBoxes(b);
        expect(out.length).toBe(b.length);
        for (let i = 0; i < b.length; i++) {
          if (out[i] !== b[i]) {
            expect(b[i]).toMatch(/[xX]/);
            expect(out[i]).toBe(' ');
          }
        }
        expect(extractTaskCheckboxes(out).every((c) => !c.checked)).toBe(true);
        expect(uncheckBoxes(out)).toBe(out);
        expect(extractTaskCheckboxes(out).map((c) => c.line)).toEqual(
          extractTaskCheckboxes(b).map((c) => c.line),
        );
      }),
      { seed: SEED, numRuns: 300 },
    );
  });
});
