// `heph next` asks the daemon for the lines form; a daemon from before it (not restarted since an
// upgrade) refuses the parameter, and the CLI asks again for the object form. The refusals here
// are made as such daemons make them: their `next` params schemas (one without `form`, one whose
// `form` knows only objects and rows) through the registry's own parameter check, over the wire's
// error encoding. Also: -n refused before anything is asked.

import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { HephError } from '../../src/core/errors.js';
import { next } from '../../src/cli/commands/tasks.js';
import type { Cli } from '../../src/cli/context.js';
import { render } from '../../src/cli/output.js';
import { fromWireError, toWireError } from '../../src/protocol/error-wire.js';
import { parseParams } from '../../src/rpc/registry.js';

const OLD_NEXT_PARAMS = z.strictObject({ limit: z.number().optional(), today: z.string() });
/** The release before: `form` objects or rows, no `color`. */
const ROWS_NEXT_PARAMS = OLD_NEXT_PARAMS.extend({ form: z.enum(['objects', 'rows']).optional() });
const TASK = {
  id: '01HZY3F0V3Z5KJ8Q9W2X4Y6Z7A',
  short_id: 'y6z7a',
  title: 'Pay rent',
  state: 'outstanding',
  attention: 'red',
  do_date: null,
  late_on: null,
  recurrence: null,
  created: '2026-12-01T00:00:00.000Z',
};

/** A CLI whose daemon answers `next` as `answer` does, recording each call's params. */
function cliAgainst(answer: (params: Record<string, unknown>) => unknown) {
  const calls: Record<string, unknown>[] = [];
  const cli = {
    today: '2026-12-05',
    call: (method: string, params: Record<string, unknown> = {}) => {
      expect(method).toBe('next');
      calls.push(params);
      try {
        return Promise.resolve(answer(params));
      } catch (e) {
        // What the socket client hands back for a daemon's error reply.
        return Promise.reject(fromWireError(toWireError(e)));
      }
    },
  } as unknown as Cli;
  return { cli, calls };
}

const daemonWith = (schema: typeof OLD_NEXT_PARAMS) => (params: Record<string, unknown>) => {
  const p = parseParams(schema, params);
  return { today: p.today, tasks: [TASK] };
};
const oldDaemon = daemonWith(OLD_NEXT_PARAMS);

describe('heph next against a daemon without the lines form', () => {
  for (const [name, schema] of [
    ['no form at all', OLD_NEXT_PARAMS],
    ['objects and rows only', ROWS_NEXT_PARAMS],
  ] as const) {
    for (const color of [false, true]) {
      it(`asks again without form and shows the same tasks (${name}, color ${color})`, async () => {
        const { cli, calls } = cliAgainst(daemonWith(schema));
        Object.assign(cli, { color });
        const out = await next(cli, { n: 3 });
        expect(calls).toEqual([
          { limit: 3, today: '2026-12-05', form: 'lines', ...(color && { color: true }) },
          { limit: 3, today: '2026-12-05' },
        ]);
        expect(out).toMatchObject({ kind: 'tasks', data: { today: '2026-12-05', tasks: [TASK] } });
      });
    }
  }

  it('does not ask again for any other refusal', async () => {
    const { cli, calls } = cliAgainst(() => {
      throw new HephError('invalid_params', 'today: must be a calendar date', { field: 'today' });
    });
    await expect(next(cli, {})).rejects.toThrow(/today: must be a calendar date/);
    expect(calls).toHaveLength(1);
  });

  it("prints a current daemon's lines as they came, and the empty answer's next task", async () => {
    const { cli, calls } = cliAgainst((p) =>
      p.limit === 1
        ? { today: '2026-12-05', count: 0, text: '', coming: { title: 'Later', short_id: 'k2' } }
        : { today: '2026-12-05', count: 2, text: 'line one\nline two' },
    );
    const opts = { json: false, color: false, today: '2026-12-05' };
    expect(render(await next(cli, {}), opts)).toBe('line one\nline two\n');
    expect(render(await next(cli, { n: 1 }), opts)).toBe('Nothing to do now. Next up: Later  k2\n');
    expect(calls).toEqual([
      { today: '2026-12-05', form: 'lines' },
      { limit: 1, today: '2026-12-05', form: 'lines' },
    ]);
  });
});

describe('heph next -n', () => {
  it('names the option as typed when its value is not a positive whole number', async () => {
    const { cli, calls } = cliAgainst(oldDaemon);
    for (const n of [0, 'abc', 1.5]) {
      await expect(next(cli, { n })).rejects.toThrow(/^-n must be a positive whole number$/);
    }
    expect(calls).toEqual([]);
  });
});
