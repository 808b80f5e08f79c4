// `heph next` asks the daemon for the row form; a daemon from before it (not restarted since an
// upgrade) refuses the parameter, and the CLI asks again for the object form. The refusal here is
// made as such a daemon makes it: its `next` params schema (no `form`) through the registry's
// own parameter check, over the wire's error encoding. Also: -n refused before anything is asked.

import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { HephError } from '../../src/core/errors.js';
import { next } from '../../src/cli/commands/tasks.js';
import type { Cli } from '../../src/cli/context.js';
import { render } from '../../src/cli/output.js';
import { fromWireError, toWireError } from '../../src/protocol/error-wire.js';
import { parseParams } from '../../src/rpc/registry.js';

const OLD_NEXT_PARAMS = z.strictObject({ limit: z.number().optional(), today: z.string() });
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

const oldDaemon = (params: Record<string, unknown>) => {
  const p = parseParams(OLD_NEXT_PARAMS, params);
  return { today: p.today, tasks: [TASK] };
};

describe('heph next against a daemon without the row form', () => {
  it('asks again without form and shows the same tasks', async () => {
    const { cli, calls } = cliAgainst(oldDaemon);
    const out = await next(cli, { n: 3 });
    expect(calls).toEqual([
      { limit: 3, today: '2026-12-05', form: 'rows' },
      { limit: 3, today: '2026-12-05' },
    ]);
    expect(out).toMatchObject({ kind: 'tasks', data: { today: '2026-12-05', tasks: [TASK] } });
  });

  it('does not ask again for any other refusal', async () => {
    const { cli, calls } = cliAgainst(() => {
      throw new HephError('invalid_params', 'today: must be a calendar date', { field: 'today' });
    });
    await expect(next(cli, {})).rejects.toThrow(/today: must be a calendar date/);
    expect(calls).toHaveLength(1);
  });

  it('reads the rows of a current daemon back as the tasks it names', async () => {
    const { cli, calls } = cliAgainst(() => ({
      today: '2026-12-05',
      columns: ['short_id', 'title', 'attention'],
      rows: [['y6z7a', 'Pay rent', 'red']],
    }));
    const out = await next(cli, {});
    expect(calls).toEqual([{ today: '2026-12-05', form: 'rows' }]);
    // Printed from the rows, as the tasks they name would be, and as those tasks under --json.
    const asTasks = {
      kind: 'tasks',
      data: {
        today: '2026-12-05',
        tasks: [{ short_id: 'y6z7a', title: 'Pay rent', attention: 'red' }],
      },
      empty: 'Nothing to do now.',
    } as const;
    for (const json of [false, true]) {
      const opts = { json, color: false, today: '2026-12-05' };
      expect(render(out, opts)).toBe(render(asTasks, opts));
    }
    expect(render(out, { json: false, color: false, today: '2026-12-05' })).toBe(
      'y6z7a     red     Pay rent\n',
    );
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
