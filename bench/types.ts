// The shapes every benchmark module shares: a module is a name, the figures it reports (with the
// metadata BENCHMARKS.md is rendered from) and a run function that returns those figures.

export type TargetOp = '>=' | '<=';

export interface Target {
  op: TargetOp;
  value: number;
  /** Compare the figure's ratio to its floor (value / floor) rather than the figure itself. */
  relative?: true;
}

export interface FigureMeta {
  name: string;
  unit: string;
  /** The name of the floor figure this one is compared with (measured in the same run). */
  floor?: string;
  target?: Target;
  description: string;
}

export interface BenchContext {
  /** A smoke run: smaller workloads, nothing written. */
  readonly quick: boolean;
  /** Picks the workload size: `full` in a real run, `quick` in a smoke run. */
  size(full: number, quick: number): number;
  /** A fresh directory under os.tmpdir(), removed when the module finishes. */
  tempDir(): string;
  /** Figures measured so far in this run (floors run first, so later modules can use them). */
  readonly figures: Readonly<Record<string, number>>;
  /** A progress line on stderr, prefixed with the module name. */
  progress(message: string): void;
}

export interface BenchModule {
  name: string;
  figures: readonly FigureMeta[];
  run(ctx: BenchContext): Promise<Record<string, number>>;
}
