// What methods answer, as zod schemas: `rpc.methods` publishes them as JSON Schema beside the
// params, so editor plugins and scripts can rely on result shapes, and the method tests check
// every answer against them (test/rpc/results.test.ts). Handlers are not slowed by them: results
// are never parsed at run time. Objects are strict, so a field added to an answer without being
// described here fails those tests.

import { z } from 'zod';
import { TASK_ROW_COLUMNS } from '../../protocol/task-rows.js';
import { ATTENTIONS, TASK_STATES } from '../../core/fields.js';
import { NODE_KINDS, LINK_TYPES, type LinkType, type NodeKind } from '../../core/ids.js';
import { VIEW_NAMES } from '../../core/rank.js';

const Iso = z.string().describe('ISO 8601 time');
const Day = z.string().describe('YYYY-MM-DD');
const Kind = z.enum(NODE_KINDS as [NodeKind, ...NodeKind[]]);
const Attention = z.enum(ATTENTIONS);
const State = z.enum(TASK_STATES);
const Json = z.unknown();

const taskFields = {
  state: State,
  attention: Attention,
  do_date: Day.nullable(),
  late_on: Day.nullable(),
  recurrence: z.string().nullable().describe('an RFC 5545 RRULE'),
};

/** A node as the store holds it. */
const StoredNode = z.strictObject({
  id: z.string(),
  kind: Kind,
  title: z.string(),
  aliases: z.array(z.string()),
  body: z.string(),
  body_version: z
    .string()
    .describe("the body's version: send it back as base_version when saving the body"),
  deleted: z.boolean(),
  created: Iso,
  updated: Iso,
  created_ms: z.number(),
  updated_ms: z.number(),
  extra: z.record(z.string(), Json),
  ...z.strictObject(taskFields).partial().shape,
});

export const NodeResult = z.strictObject({
  ...StoredNode.shape,
  short_id: z.string().describe('the shortest unambiguous prefix of the id'),
});

export const NodeList = z.strictObject({ nodes: z.array(NodeResult) });

/** What a rename reports (a title change rewrites the links naming the old title). */
const LinkRewrites = {
  links_updated: z.number().optional().describe('notes whose links followed a new title'),
  links_kept: z
    .number()
    .optional()
    .describe('links left as written: the new title holds [ ] | # ^ or a backtick'),
};

const Warnings = {
  warnings: z.array(z.string()).optional().describe('another item has this title'),
};

/** A node after node.create, node.update or conflicts.resolve. */
export const NodeChanged = z.strictObject({ ...NodeResult.shape, ...LinkRewrites, ...Warnings });

export const TaskResult = z.strictObject({
  id: z.string(),
  short_id: z.string(),
  title: z.string(),
  body: z.string(),
  body_version: z.string(),
  ...taskFields,
  recurrence_anchor: Day.nullable().describe('the do_date when the recurrence was set'),
  context: z.string().nullable().describe("the context doc's id"),
  context_short_id: z.string().nullable().describe("the context doc's short id"),
  log: z.string().nullable().describe("the log doc's id, once something was logged"),
  project: z.string().nullable(),
  tags: z.array(z.string()),
  deleted: z.boolean(),
  created: Iso,
  updated: Iso,
  own_body: z
    .string()
    .optional()
    .describe('text an earlier version kept in the task itself, beside its note'),
});

/** A task after task.update (a new title rewrites the links naming the old one). */
export const TaskChanged = z.strictObject({ ...TaskResult.shape, ...LinkRewrites });

export const TaskSummaryResult = z.strictObject({
  id: z.string(),
  short_id: z.string(),
  title: z.string(),
  ...taskFields,
  created: Iso,
});

export const CreateTaskResult = z.strictObject({
  task: TaskResult,
  context: z.string().describe("the context doc's id"),
  ...Warnings,
});

export const CompleteResult = z.strictObject({
  task: TaskResult,
  rolled: z.boolean().describe('a recurring task rolled forward instead of closing'),
  next_do_date: Day.nullable(),
});

const ProjectRef = z.strictObject({ id: z.string(), short_id: z.string(), title: z.string() });

export const QuickAddResult = z.union([
  z
    .strictObject({
      ...CreateTaskResult.shape,
      project: ProjectRef.nullable(),
      created_project: z.boolean(),
      warnings: z.array(z.string()).describe('words kept in the title after every, on or due'),
    })
    .describe('the task made (with strict, a line with warnings is refused instead)'),
  z
    .strictObject({
      dry_run: z.literal(true),
      task: z.strictObject({
        title: z.string(),
        state: z.literal('outstanding'),
        attention: Attention,
        do_date: Day.nullable(),
        late_on: Day.nullable(),
        recurrence: z.string().nullable(),
        tags: z.array(z.string()),
      }),
      project: z.strictObject({ id: z.string().nullable(), title: z.string() }).nullable(),
      created_project: z.boolean(),
      warnings: z.array(z.string()),
    })
    .describe('with dry_run: what would be written (nothing is)'),
]);

export const TaskListResult = z.strictObject({
  today: Day,
  tasks: z.array(TaskSummaryResult),
  coming: TaskSummaryResult.nullable()
    .optional()
    .describe('next only, when nothing is actionable: the first task whose do date is ahead'),
});

export const TaskRowsResult = z
  .strictObject({
    today: Day,
    columns: z
      .array(z.enum(TASK_ROW_COLUMNS))
      .describe('the field each position of a row holds: ' + TASK_ROW_COLUMNS.join(', ')),
    rows: z
      .array(z.array(z.string().nullable()))
      .describe('each task as an array of the fields named in columns'),
    coming: TaskSummaryResult.nullable()
      .optional()
      .describe('when nothing is actionable: the first task whose do date is ahead'),
  })
  .describe('with form rows');

export const TaskLinesResult = z
  .strictObject({
    today: Day,
    count: z.number().int().min(0).describe('how many tasks the text shows, one per line'),
    text: z
      .string()
      .describe('the tasks as `heph next` prints them, one line each, joined by newlines'),
    coming: TaskSummaryResult.nullable()
      .optional()
      .describe('when nothing is actionable: the first task whose do date is ahead'),
  })
  .describe('with form lines');

export const ViewResult = z.union([
  z
    .strictObject({
      views: z.array(z.strictObject({ name: z.enum(VIEW_NAMES), description: z.string() })),
    })
    .describe('without a name'),
  z.strictObject({ view: z.enum(VIEW_NAMES), ...TaskListResult.shape }).describe('with a name'),
]);

export const LinkResult = z.strictObject({
  id: z.string(),
  src: z.string(),
  dst: z.string(),
  src_short_id: z.string().describe("the source node's short id"),
  dst_short_id: z.string().describe("the destination node's short id"),
  type: z.enum(LINK_TYPES as [LinkType, ...LinkType[]]),
});

const WikiNode = z.strictObject({ id: z.string(), kind: Kind, title: z.string() });

export const WikiResults = {
  links: z.strictObject({
    links: z.array(z.strictObject({ target: z.string(), node: WikiNode.nullable() })),
  }),
  backlinks: z.strictObject({
    backlinks: z.array(
      z.strictObject({ ...WikiNode.shape, targets: z.array(z.string()).describe('as written') }),
    ),
  }),
  resolve: z.strictObject({ node: WikiNode.nullable() }),
  complete: z.strictObject({
    names: z.array(
      z.strictObject({
        name: z.string().describe('the text to write between [[ and ]]'),
        how: z.enum(['title', 'alias']),
        ...WikiNode.shape,
      }),
    ),
  }),
};

export const SearchResult = z.strictObject({
  results: z.array(
    z.strictObject({
      id: z.string(),
      short_id: z.string(),
      kind: Kind,
      title: z.string(),
      snippet: z.string().describe('matches between ** and **'),
      score: z.number().describe('higher is better'),
    }),
  ),
});

export const ExportPageResult = z.strictObject({
  nodes: z.array(
    z.strictObject({
      ...StoredNode.shape,
      links: z.array(z.strictObject({ type: z.string(), dst: z.string() })),
      note: z
        .strictObject({
          id: z.string(),
          aliases: z.array(z.string()),
          links: z.array(z.strictObject({ type: z.string(), dst: z.string() })),
        })
        .optional()
        .describe("a task's note (context doc); the task's body is its text"),
      own_body: z.string().optional(),
    }),
  ),
  next: z.string().nullable().describe('pass as after for the next page; null at the end'),
});

export const LinksResult = z.strictObject({
  links: z.array(LinkResult),
  wiki: z.array(z.string()).describe('link targets written in the body'),
});

export const ImportResult = z.strictObject({
  created: z.number(),
  updated: z.number(),
  unchanged: z.number(),
  skipped: z.number(),
  errors: z.array(z.strictObject({ path: z.string(), message: z.string() })),
});

export const ExportResult = z.strictObject({
  written: z.number(),
  unchanged: z.number(),
  removed: z.number(),
  collisions: z
    .array(z.strictObject({ id: z.string(), title: z.string(), path: z.string() }))
    .describe('items written under a suffixed name because another had theirs'),
});

export const ConflictsResult = z.strictObject({
  conflicts: z.array(
    z.strictObject({
      target: z.string(),
      short_id: z.string().describe("the target's short id, as lists show it"),
      title: z.string().describe("the node's title; '' when it is not here"),
      field: z
        .string()
        .describe('"body": one head per version of the text; "project", "parent": one per project'),
      heads: z.array(
        z.strictObject({
          op: z.string(),
          origin: z.string().describe('the replica that wrote it'),
          device: z
            .string()
            .describe(
              '"this device", else the name of the device that wrote it, else its replica id',
            ),
          at: Iso,
          value: Json.describe('for "project" and "parent": the id of a project the node is in'),
          title: z
            .string()
            .optional()
            .describe(`for "project" and "parent": that project's title ('' when it is not here)`),
          short_id: z
            .string()
            .optional()
            .describe(`for "project" and "parent": that project's short id`),
          branch: z.string().optional().describe("a body conflict's version"),
        }),
      ),
      cycle: z
        .array(z.string())
        .optional()
        .describe(
          'for "parent" in a loop of projects: the loop, this one first, each under the next',
        ),
    }),
  ),
});

export const ProjectResult = z.strictObject({
  id: z.string(),
  short_id: z.string(),
  title: z.string(),
  parent: z.string().nullable(),
  tasks: z.number(),
  outstanding: z.number(),
});

export const JournalResult = z.strictObject({
  journal: z.strictObject({
    id: z.string(),
    date: Day,
    title: z.string(),
    body: z.string(),
    body_version: z.string(),
    created: Iso,
    updated: Iso,
  }),
  created: z.boolean(),
  restored: z.boolean(),
});

export const LogEntry = z.strictObject({ date: Day, text: z.string() });

export const NodeTags = z.strictObject({
  id: z.string(),
  short_id: z.string(),
  tags: z.array(z.string()),
});
export const TagRemoved = z.strictObject({
  ...NodeTags.shape,
  removed: z.boolean().describe('false: the node did not carry the tag'),
});
export const ProjectList = z.strictObject({ projects: z.array(ProjectResult) });
export const LogTail = z.strictObject({ entries: z.array(LogEntry) });

export const TagList = z.strictObject({
  tags: z.array(z.strictObject({ name: z.string(), id: z.string(), count: z.number() })),
});

export const RepairResult = z
  .strictObject({
    doubled: z.array(
      z.strictObject({
        id: z.string(),
        title: z.string(),
        copies: z.number(),
        length: z.number(),
        fixable: z.boolean().describe('false: edited since it was doubled, fix it by hand'),
      }),
    ),
    fixed: z.number(),
  })
  .describe('bodies whose text stands twice or more');

const Counts = z.strictObject({ changes: z.number(), ops: z.number() });

export const SyncStatusResult = z.strictObject({
  mode: z.string(),
  hub: z.string().nullable(),
  replica_id: z.string().nullable(),
  device_name: z.string().nullable().describe('the name other devices show for this one'),
  state: z.enum([
    'no_hub',
    'online_only',
    'offline',
    'revoked',
    'sign_in',
    'protocol',
    'failing',
    'clock_drift',
    'not_synced',
    'refused',
    'pending',
    'in_sync',
  ]),
  verdict: z.string().describe('one line for people'),
  last_attempt: Iso.nullable(),
  last_success: Iso.nullable(),
  last_error: z
    .strictObject({
      kind: z.enum(['offline', 'revoked', 'auth', 'clock-drift', 'protocol', 'hub-error']),
      message: z.string(),
      since: Iso,
    })
    .nullable(),
  pending: Counts,
  unpulled: z.number(),
  refused: Counts,
  conflicts: z.number(),
  quarantined: z.array(
    z.strictObject({
      id: z.string(),
      code: z.string(),
      message: z.string(),
      target: z.string().optional(),
    }),
  ),
  pushes: z.number(),
});

export const SyncNowResult = z.union([
  z
    .strictObject({
      pulled: z.number(),
      applied: z.number(),
      pushed: z.number(),
      state: SyncStatusResult.shape.state,
      verdict: z.string(),
    })
    .describe(
      'once the hub has every change this device holds; otherwise an error saying what is not ' +
        'on the hub and why (clock_drift, the code of a refused change, unavailable, ' +
        'unauthorized), with {pulled, applied, pushed, state, pending, refused} in its data',
    ),
  z.strictObject({ started: z.literal(true) }).describe('with wait false'),
]);

export const StatusResult = z.strictObject({
  version: z.string(),
  protocol: z.number().describe('the sync protocol this daemon speaks'),
  mode: z.enum(['local', 'server', 'client']),
  pid: z.number(),
  replica_id: z.string(),
  db: z.string(),
  socket: z.string(),
  ops: z.number(),
  digest: z.string().optional().describe('with digest: true'),
  conflicts: z.number(),
  uptime_s: z.number(),
  subscribers: z.number().describe('live events.subscribe subscriptions'),
});

/** A client-mode daemon's status: its own facts over the hub's, when the hub answers. */
export const ClientStatusResult = z.strictObject({
  ...StatusResult.partial().shape,
  version: z.string(),
  mode: z.literal('client'),
  pid: z.number(),
  socket: z.string(),
  hub: z.string(),
  subscribers: z.number(),
  hub_reachable: z.boolean(),
  hub_error: z.string().optional(),
});

export const DoctorResult = z.strictObject({
  database: z.strictObject({
    path: z.string(),
    result: z
      .array(z.string())
      .describe('PRAGMA quick_check lines, run on a copy in a worker so requests never wait'),
    schema_version: z.number().nullable(),
    expected_schema_version: z.number(),
  }),
  hub: z
    .union([
      z.strictObject({
        url: z.string(),
        reachable: z.literal(true),
        error: z.null(),
        protocols: z.array(z.number()).describe('the sync protocols the hub serves'),
        protocol: z.number().describe('the one this daemon speaks'),
        sign_in_required: z.boolean(),
        offset_ms: z.number().describe("this clock minus the hub's"),
      }),
      z.strictObject({
        url: z.string(),
        reachable: z.literal(false),
        error: z.string(),
        protocol: z.number(),
      }),
    ])
    .nullable()
    .describe('null without a hub'),
});

export const BackupResult = z.strictObject({
  path: z.string(),
  bytes: z.number(),
  ops: z.number(),
});

export const LinkList = z.strictObject({ links: z.array(LinkResult) });
export const Removed = z.strictObject({ removed: z.literal(true) });
export const Subscribed = z.strictObject({ subscription: z.string() });
export const Unsubscribed = z.strictObject({ unsubscribed: z.literal(true) });

/** node.restore: the node, whether it was in the trash, and a note when a live node shares the name. */
export const RestoreResult = z.strictObject({
  ...NodeResult.shape,
  restored: z.boolean().describe('false: it was not in the trash'),
  note: z.string().optional().describe('a live node that has the same name, named'),
});
