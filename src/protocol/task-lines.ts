// How a task reads as one line of a list (`heph next`, `heph list`, what a state change says):
// short id, attention, title, then its state and dates relative to the user's day. The CLI
// prints lines with it, and the daemon renders `next` with it when asked for the lines form, so
// a long list travels as one string and the CLI prints it without parsing a row per task or
// building a line per task in a process that runs that code once, cold. One module, so the two
// cannot print a task differently.

/** ANSI styles, or identity functions when colour is off. */
export interface Styles {
  dim(t: string): string;
  bold(t: string): string;
  red(t: string): string;
  yellow(t: string): string;
  blue(t: string): string;
  green(t: string): string;
}

export function styles(color: boolean): Styles {
  const sgr = (code: string) => (t: string) => (color ? `\x1b[${code}m${t}\x1b[0m` : t);
  return {
    dim: sgr('2'),
    bold: sgr('1'),
    red: sgr('31'),
    yellow: sgr('33'),
    blue: sgr('34'),
    green: sgr('32'),
  };
}

/** The attention column, six characters wide. */
export function attention(a: unknown, s: Styles): string {
  switch (a) {
    case 'red':
      return s.red('red   ');
    case 'orange':
      return s.yellow('orange');
    case 'blue':
      return s.blue('blue  ');
    default:
      return '      ';
  }
}

/** A value as text: strings as they are, nothing for null, anything else as JSON. */
export function text(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '';
  return JSON.stringify(v);
}

/** Day numbers of the dates seen: a list of a thousand tasks holds a few dozen dates, and
 *  `Date.UTC` with the regular expression cost most of printing `heph next`. */
const dayNumbers = new Map<string, number | undefined>();

function dayNumber(d: string): number | undefined {
  if (dayNumbers.has(d)) return dayNumbers.get(d);
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(d);
  const n = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) / 86_400_000 : undefined;
  if (dayNumbers.size < 1000) dayNumbers.set(d, n);
  return n;
}

/** 'today', 'tomorrow', 'in 3d', '2d ago', or the date itself when far away. */
export function relative(date: string, today: string): string {
  const a = dayNumber(date);
  const b = dayNumber(today);
  if (a === undefined || b === undefined) return date;
  const n = a - b;
  if (n === 0) return 'today';
  if (n === 1) return 'tomorrow';
  if (n === -1) return 'yesterday';
  if (n > 1 && n < 7) return `in ${n}d`;
  if (n < -1 && n > -7) return `${-n}d ago`;
  return date;
}

const FREQ_UNITS: Readonly<Record<string, string>> = {
  DAILY: 'day',
  WEEKLY: 'week',
  MONTHLY: 'month',
  YEARLY: 'year',
};
const DAY_NAMES: Readonly<Record<string, string>> = {
  MO: 'mon',
  TU: 'tue',
  WE: 'wed',
  TH: 'thu',
  FR: 'fri',
  SA: 'sat',
  SU: 'sun',
};

/** A recurrence rule as the words quick add takes for it ('every month', 'every 2 weeks',
 *  'every mon,thu', 'every weekday'), or the rule itself when it says more than those words can
 *  (a count, an end, a day of the month, …). The inverse of core/recur's recurrenceFromPhrase
 *  (a test reads every phrase back through it), kept here because core/recur loads the rrule
 *  package, which the CLI's fast bundle must not. */
export function recurrencePhrase(rule: string): string {
  const parts = new Map<string, string>();
  for (const part of rule.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0 || parts.has(part.slice(0, eq))) return rule;
    parts.set(part.slice(0, eq), part.slice(eq + 1));
  }
  const unit = FREQ_UNITS[parts.get('FREQ') ?? ''];
  const interval = parts.get('INTERVAL') ?? '1';
  const byday = parts.get('BYDAY');
  const known = 1 + (parts.has('INTERVAL') ? 1 : 0) + (byday === undefined ? 0 : 1);
  if (unit === undefined || parts.size !== known || !/^[1-9]\d*$/.test(interval)) return rule;
  if (byday === undefined) return interval === '1' ? `every ${unit}` : `every ${interval} ${unit}s`;
  if (unit !== 'week' || interval !== '1') return rule;
  if (byday === 'MO,TU,WE,TH,FR') return 'every weekday';
  if (byday === 'SA,SU') return 'every weekend';
  const names = byday.split(',').map((d) => DAY_NAMES[d]);
  return names.every((n) => n !== undefined) ? `every ${names.join(',')}` : rule;
}

/** The fields of a task that its line shows. */
export interface LineFields {
  shortId: string;
  attention: unknown;
  title: unknown;
  state: unknown;
  doDate: unknown;
  lateOn: unknown;
  recurrence: unknown;
  tags?: unknown;
}

/** One task as a line. Built by concatenation, without arrays of parts: the CLI runs this once
 *  per task, cold, and its garbage is most of what printing costs. */
export function lineOf(f: LineFields, s: Styles, today: string): string {
  let meta = '';
  const add = (part: string) => (meta = meta === '' ? part : `${meta}  ${part}`);
  if (f.state === 'done') add(s.green('done'));
  if (f.state === 'dropped') add(s.dim('dropped'));
  if (typeof f.doDate === 'string') add(`do ${relative(f.doDate, today)}`);
  if (typeof f.lateOn === 'string') {
    const late = `late ${relative(f.lateOn, today)}`;
    add(f.lateOn < today && f.state === 'outstanding' ? s.red(s.bold(late)) : late);
  }
  if (typeof f.recurrence === 'string') add(`↻ ${recurrencePhrase(f.recurrence)}`);
  if (Array.isArray(f.tags) && f.tags.length > 0) add(f.tags.map((x) => `+${text(x)}`).join(' '));
  const head = `${s.dim(f.shortId.padEnd(8))}  ${attention(f.attention, s)}  ${text(f.title)}`;
  return meta === '' ? head : `${head}  ${s.dim('·')} ${meta}`;
}

/** What a task list's line is made of, as the model reads a task. */
export interface TaskLineSource {
  id: string;
  title: string;
  state: string;
  attention: string;
  do_date: string | null;
  late_on: string | null;
  recurrence: string | null;
}

/** Tasks as the lines of a list, one per task, joined by newlines ('' for none): the daemon's
 *  rendering of `next` in the lines form, printed by the CLI as it comes. */
export function taskLines(
  tasks: readonly TaskLineSource[],
  shortOf: (id: string) => string,
  color: boolean,
  today: string,
): string {
  const s = styles(color);
  const f: LineFields = {
    shortId: '',
    attention: null,
    title: null,
    state: null,
    doDate: null,
    lateOn: null,
    recurrence: null,
  };
  const lines: string[] = [];
  for (const t of tasks) {
    f.shortId = shortOf(t.id);
    f.attention = t.attention;
    f.title = t.title;
    f.state = t.state;
    f.doDate = t.do_date;
    f.lateOn = t.late_on;
    f.recurrence = t.recurrence;
    lines.push(lineOf(f, s, today));
  }
  return lines.join('\n');
}
