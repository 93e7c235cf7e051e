// Reading an `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)` plan: which indexes it used, whether it
// read tasks sequentially, how many rows it examined to return what it returned, and whether it
// sorted more rows than a page. The JSON keys are PostgreSQL's own.

export interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Scan Direction'?: string;
  'Actual Rows': number;
  'Actual Loops': number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  'Sort Method'?: string;
  'Shared Hit Blocks'?: number;
  'Shared Read Blocks'?: number;
  'Index Cond'?: string;
  Filter?: string;
  Plans?: PlanNode[];
}

export interface ExplainOutput {
  Plan: PlanNode;
  'Planning Time': number;
  'Execution Time': number;
}

export interface SortStep {
  method: string;
  /** Rows the sort took in: what it had to read before giving the first row. */
  input: number;
}

export interface PlanSummary {
  /** Rows of the page. */
  rows: number;
  executionMs: number;
  planningMs: number;
  /** Indexes of tasks the plan read. */
  indexes: string[];
  /** Indexes of other tables (the user's change counter the list statement reads). */
  otherIndexes: string[];
  seqScanOnTasks: boolean;
  /** Rows of tasks the scans touched: returned by them plus those their filters or rechecks removed. */
  rowsExamined: number;
  /** Sorts that gave the rows their order (a top-N keeps only a page in memory, but reads all its input). */
  sorts: SortStep[];
  /** Sorts of rows that already passed a LIMIT: a page (or the two parts of a due_at page) put in order again; bounded by the page. */
  pageSorts: SortStep[];
  /** Shared buffers hit + read, the whole plan. */
  buffers: number;
  /** The plan's shape, top nodes first: `Limit > Index Scan (tasks_user_created_idx)`. */
  shape: string;
}

/** Visits every node with the table it reads (a Bitmap Index Scan: its Bitmap Heap Scan's). */
function walk(node: PlanNode, visit: (n: PlanNode, relation: string | undefined) => void, relation?: string): void {
  const own = node['Relation Name'] ?? (node['Node Type'] === 'Bitmap Index Scan' ? relation : undefined);
  visit(node, own);
  for (const child of node.Plans ?? []) walk(child, visit, node['Relation Name'] ?? relation);
}

/** The outermost LIMIT: the page. (The statement around it returns one row of nulls for an empty page.) */
function firstLimit(node: PlanNode): PlanNode | undefined {
  if (node['Node Type'] === 'Limit') return node;
  for (const child of node.Plans ?? []) {
    const found = firstLimit(child);
    if (found) return found;
  }
  return undefined;
}

function hasLimitBelow(node: PlanNode): boolean {
  return (node.Plans ?? []).some((c) => c['Node Type'] === 'Limit' || hasLimitBelow(c));
}

const isTasksScan = (n: PlanNode) => n['Relation Name'] === 'tasks' && /Scan$/.test(n['Node Type']) && !n['Node Type'].startsWith('Bitmap Index');

/** One node as the shape shows it: its type, and the index or relation it reads. */
function label(n: PlanNode): string {
  const type = n['Node Type'] === 'Index Scan' && n['Scan Direction'] === 'Backward' ? 'Index Scan Backward' : n['Node Type'];
  if (n['Index Name']) return `${type} (${n['Index Name']})`;
  if (n['Node Type'] === 'Sort') return `Sort [${n['Sort Method'] ?? '?'}]`;
  return type;
}

function shapeOf(n: PlanNode, depth: number): string {
  const children = n.Plans ?? [];
  if (children.length === 0 || depth === 0) return label(n);
  const below = children.length === 1 ? shapeOf(children[0] as PlanNode, depth - 1) : `(${children.map((c) => shapeOf(c, depth - 1)).join(' + ')})`;
  return `${label(n)} > ${below}`;
}

export function summarize(output: ExplainOutput): PlanSummary {
  const indexes = new Set<string>();
  const otherIndexes = new Set<string>();
  const sorts: SortStep[] = [];
  const pageSorts: SortStep[] = [];
  let seqScanOnTasks = false;
  let rowsExamined = 0;
  walk(output.Plan, (n, relation) => {
    if (n['Index Name']) (relation === 'tasks' ? indexes : otherIndexes).add(n['Index Name']);
    if (n['Node Type'] === 'Seq Scan' && n['Relation Name'] === 'tasks') seqScanOnTasks = true;
    if (isTasksScan(n)) {
      rowsExamined += (n['Actual Rows'] + (n['Rows Removed by Filter'] ?? 0) + (n['Rows Removed by Index Recheck'] ?? 0)) * n['Actual Loops'];
    }
    if (n['Node Type'] === 'Sort') {
      const input = n.Plans?.[0];
      const step = { method: n['Sort Method'] ?? '?', input: input ? input['Actual Rows'] * input['Actual Loops'] : 0 };
      (hasLimitBelow(n) ? pageSorts : sorts).push(step);
    }
  });
  const top = output.Plan;
  return {
    rows: (firstLimit(top) ?? top)['Actual Rows'],
    executionMs: output['Execution Time'],
    planningMs: output['Planning Time'],
    indexes: [...indexes].sort(),
    otherIndexes: [...otherIndexes].sort(),
    seqScanOnTasks,
    rowsExamined,
    sorts,
    pageSorts,
    buffers: (top['Shared Hit Blocks'] ?? 0) + (top['Shared Read Blocks'] ?? 0),
    shape: shapeOf(top, 7),
  };
}

/** How a plan ordered its rows: by an index, or by sorting (top-N keeps only a page in memory); page sorts aside. */
export function orderedBy(summary: PlanSummary): string {
  if (summary.sorts.length === 0) return 'index order';
  return summary.sorts.map((s) => `${s.method === 'top-N heapsort' ? 'top-N' : s.method} of ${s.input}`).join(', ');
}
