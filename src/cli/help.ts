// `heph --help` (every command in groups, one line each) and `heph help TOPIC`: the longer
// explanations a newcomer needs once (dates, quick add, ids, sync, config). Static text: nothing
// here talks to the daemon.

import { HephError } from '../core/errors.js';
import { words, type Args } from './args.js';
import type { Cli } from './context.js';
import type { Output } from './output.js';
import { COMMANDS, GLOBAL_OPTIONS, GROUPS, TOPICS } from './spec.js';
import { didYouMean } from '../core/suggest.js';

type Topic = (typeof TOPICS)[number];

function columns(rows: [string, string][], w = Math.max(...rows.map(([a]) => a.length))): string {
  return rows.map(([a, b]) => `  ${a.padEnd(w)}  ${b}`).join('\n');
}

/** Every command, grouped, one line each. */
export function overview(): string {
  const out = [
    'heph: notes and tasks, from the command line.',
    '',
    'Usage: heph <command> [options]',
    '',
  ];
  const width = Math.max(
    ...COMMANDS.map((c) => c.name.length),
    'Options: --socket PATH'.length - 9,
  );
  for (const g of GROUPS) {
    out.push(
      g.title,
      columns(
        g.commands.map((c): [string, string] => [c.name, c.summary]),
        width,
      ),
      '',
    );
  }
  out.push(
    'Options for every command',
    columns(
      [
        ...Object.entries(GLOBAL_OPTIONS).map(([name, o]): [string, string] => [
          `--${name}${o.type === 'string' ? ' PATH' : ''}`,
          String(o.describe ?? ''),
        ]),
        ['-h, --help', 'help for heph or one command (heph add --help)'],
        ['--version', "heph's version"],
      ],
      width,
    ),
    '',
    `Topics: heph help ${TOPICS.join(' | ')}`,
    'Start the daemon once with `heph daemon start`; `heph doctor` checks the set-up.',
    '',
  );
  return out.join('\n');
}

const TEXT: Record<Topic, string> = {
  dates: `Dates

Wherever heph asks for a date (--do, --late-on, --date, heph journal DATE, and quick add
after "on", after "due" or alone at the end of the line) you can write:

  2026-03-14                    that day (an impossible date such as 2026-02-30 is an error)
  today, tomorrow, yesterday    relative to your local day
  mon, friday, tues, …          the next such day, strictly after today
  next fri, next monday, …      the same day as the weekday alone
  +3d, +2w, +1m, +1y            days, weeks, months or years from today
  in 3 days, in 2 weeks,        the same: in N (or a) days, weeks, months or years
    in a week, in 1 month
  -2d, -1w, -1m, -1y            … or before today
  none                          clears the date (heph edit ID --do none)

"Today" is always the day in your local time zone, whatever zone the daemon runs in.
Months and years keep the day of the month, moving to the month's last day when it is
shorter (January 31 +1m is February 28 or 29).

Write a phrase of more than one word as one argument: --do "in 3 days".

Examples:
  heph task "Quarterly report" --do +1w --late-on +3w
  heph edit 7q2m4k --late-on "in 2 weeks"
  heph edit 7q2m4k --do -2d
  heph journal yesterday
  heph add "Call the bank due fri"
`,
  'quick-add': `Quick add

heph add turns one line into a task:

  heph add "Pay rent tomorrow !red #Home +bills every month"

gives the title "Pay rent", attention red, project Home, tag bills, do date tomorrow and a
monthly recurrence.

Markers that work anywhere in the line
  !red !orange !white !blue   attention (any other !word stays in the title)
  #Project                    the project; created if it does not exist, and heph says so.
                              Quote a name with spaces: #"Home Office"
  +tag                        a tag (starts with a letter; +1 stays in the title)

Words that work only at the end of the line (read backwards from the end, stopping at the
first word that is not part of one; markers may stand between them)
  tomorrow, fri, +3d, -2d, 2026-03-14, …    the do date (every form of heph help dates)
  next monday, in 3 days, in a week         the same
  on DATE                                   the same
  due DATE                                  the late-on day instead
  every day | week | month | year           a recurrence
  every 3 days, every 2 weeks               … with an interval
  every monday, every mon,thu               … on those days
  every weekday, every weekend

So "Call Monday Inc" keeps its title, and "Call Monday Inc monday" is due next Monday.
"in" is ordinary prose too: "Put it in the box" keeps its title, while "Read in 3 days book"
keeps its title and heph says the date in it was not read (it is not at the end).
A recurring task with no date starts on the first day of the series from today on.

Quoting
  Text in "double quotes" is always title, never a marker or a date:
  heph add '"Call Monday" monday'

Nothing is guessed silently
  Words after every, on or due that stay in the title are named on stderr and in the
  reply's warnings, and the task is still added:
    $ heph add "Water the plants every fortnite"
    heph: warning: "every fortnite" is not a recurrence; kept in the title
  The same goes for such words before the end of the line ("due friday please").
  --strict refuses the line instead (exit 2, nothing added); quote the words to keep them.
  --dry-run shows what would be added and adds nothing.

Errors (nothing is added): an empty title, an impossible date, two attentions, two projects,
two do dates, two late-on days or two recurrences ("Meet tomorrow monday" is refused rather
than guessed; quote the word that belongs to the title).
`,
  ids: `Ids

Every note and task has a full id (26 characters). heph shows a short id: the last
characters of the full id, at least six, as many as it takes to be unique. Any command that
takes an ID accepts:

  the full id        01JD8Z6Q5V7K0W3YH2N4TQ7Q2M
  a short id         7q2m4k (any unique ending of the id, at least six characters)
  an alias           heph doc "Meeting notes" --alias mn, then heph show mn
  an exact title     heph show "Meeting notes"

When a name matches more than one node, the command says so, lists the candidates and
changes nothing (exit 2): use a longer id. heph resolve NAME says which node a name means.
Journals and tags have ids you can type: journal:2026-03-14, tag:bills.
`,
  sync: `Sync

Every device keeps its own full copy and works offline. A hub you run (hephd --mode server)
relays changes between them.

  hephd --mode local --hub-url https://hub.example.org   a device that syncs
  heph daemon start --hub-url https://hub.example.org    the same, as a service
  heph auth login                                        sign in (when the hub asks for it)
  heph sync                                              sync now and say what moved
  heph sync status                                       how this device stands with the hub
  heph conflicts                                         fields changed on two devices at once
  heph doctor                                            hub reachable, clock, sign-in, …

A device syncs a second after each change, every 30 seconds, and keeps a long-poll open, so
edits made elsewhere arrive within about a second. An unreachable hub is normal: the device
keeps working and catches up later. --wait after a change (heph add "…" --wait) returns only
once the hub has it.

Nothing is lost: a change is saved on the device first; the hub refuses changes stamped more
than 5 minutes ahead of its clock (heph sync status and heph doctor say so); concurrent edits
of one field (or moves of one task to two projects, or of two projects under each other) become
a conflict you resolve with heph conflicts resolve ID FIELD VALUE; heph show ID names its
fields in conflict.
heph sync --help shows the sync command's options.
`,
  config: `Configuration

Flags beat environment variables, which beat the config file, which beats the defaults.

  what        default                                             override
  database    $XDG_DATA_HOME/heph/heph.db                         --db, HEPH_DB
  socket      $XDG_RUNTIME_DIR/heph/hephd.sock                    --socket, HEPH_SOCKET
              (else $XDG_DATA_HOME/heph/hephd.sock)
  config      $XDG_CONFIG_HOME/heph/config.json                   --config, HEPH_CONFIG
  hub         none                                                --hub-url, HEPH_HUB_URL
  log level   info                                                --log-level, HEPH_LOG_LEVEL
  time zone   the system's                                        HEPH_TIME_ZONE
  sync        every 30 s                                          --sync-interval, HEPH_SYNC_INTERVAL

heph socket-path prints the socket heph would use. The config file is JSON; its keys are the
long flags in snake_case, for example:

  {"hub_url": "https://hub.example.org", "log_level": "warn", "sync_interval": 60}

Keys: mode, db, socket, log_level, hub_url, time_zone, sync_interval, device_name,
insecure_http, insecure_storage, and for a hub http_addr, tls_cert, tls_key, oidc_issuer,
oidc_audience, oidc_client_id, owner, allow_users, trust_proxy, insecure_oidc_http,
hub_store, hub_store_pool, cache_dir, cache_max_owners, cache_max_mb.
An unknown key or a wrong type is an error naming the key; heph doctor checks the file.
`,
};

export function topicText(topic: string): string | undefined {
  return (TOPICS as readonly string[]).includes(topic) ? TEXT[topic as Topic] : undefined;
}

/** `heph help [TOPIC]` (a command's help is routed to its --help before this runs). */
export function help(_cli: Cli, a: Args): Promise<Output> {
  const topic = words(a, 'topic').trim();
  if (topic === '')
    return Promise.resolve({ kind: 'raw', text: overview(), data: { topics: TOPICS } });
  const text = topicText(topic);
  if (text === undefined) {
    throw new HephError(
      'invalid_params',
      `No help topic or command "${topic}".${didYouMean(topic, [...TOPICS, ...COMMANDS.map((c) => c.name)])} ` +
        `Topics: ${TOPICS.join(', ')}; commands: heph --help`,
      { field: 'topic' },
    );
  }
  return Promise.resolve({ kind: 'raw', text, data: { topic, text } });
}
