'use client';
import { buildTree, type Task, type TaskNode } from '@task-api/client';
import { useMemo, useState } from 'react';

export interface Row {
  task: Task;
  depth: number;
}

/** The rows in tree order (subtasks under their parent), without the subtasks of collapsed tasks. */
function flatten(nodes: TaskNode[], collapsed: ReadonlySet<number>, depth = 0, out: Row[] = []): Row[] {
  for (const n of nodes) {
    out.push({ task: n.task, depth });
    if (!collapsed.has(n.task.id)) flatten(n.children, collapsed, depth + 1, out);
  }
  return out;
}

const byPosition = (a: Task, b: Task) => (a.position < b.position ? -1 : a.position > b.position ? 1 : a.id - b.id);

/**
 * The page's tasks as rows: in My order (`tree`) the tree, subtasks under their parent (collapsible),
 * the completed top-level tasks folded under "Completed (n)" until opened; otherwise the page as it
 * came. Also each task's subtasks and siblings, for progress, indent and drops.
 */
export function useTaskTree(tasks: Task[] | null, tree: boolean) {
  const [collapsed, setCollapsed] = useState<ReadonlySet<number>>(() => new Set());
  /** My order's completed tasks: collapsed under "Completed (n)" until opened. */
  const [hideCompleted, setHideCompleted] = useState(true);

  const rows: Row[] = useMemo(() => {
    const all = tasks ?? [];
    // My order: the tree, the completed top-level tasks (with their subtasks) in "Completed" below.
    if (tree) {
      const roots = buildTree(all);
      return [...flatten(roots.filter((n) => !n.task.completed), collapsed), ...flatten(roots.filter((n) => n.task.completed), collapsed)];
    }
    return all.map((task) => ({ task, depth: 0 }));
  }, [tasks, tree, collapsed]);
  const childrenOf = useMemo(() => {
    const m = new Map<number, Task[]>();
    for (const t of tasks ?? []) {
      if (t.parent_id === null) continue;
      m.set(t.parent_id, [...(m.get(t.parent_id) ?? []), t]);
    }
    for (const [k, v] of m) m.set(k, v.sort(byPosition));
    return m;
  }, [tasks]);
  /** The siblings of a task on this page, in order. */
  const siblingsOf = (task: Task): Task[] =>
    (task.parent_id === null ? (tasks ?? []).filter((t) => t.parent_id === null) : (childrenOf.get(task.parent_id) ?? [])).sort(byPosition);

  /** Where "Completed" starts: the first completed top-level task of My order. */
  const split = tree ? rows.findIndex((r) => r.depth === 0 && r.task.completed) : -1;
  const pending = split < 0 ? rows : rows.slice(0, split);
  const done = split < 0 ? [] : rows.slice(split);

  return {
    /** Every row, in order (drops find their places in it). */
    all: rows,
    pending,
    done,
    /** The rows shown (the keyboard's j and k walk them). */
    visible: hideCompleted ? pending : rows,
    childrenOf,
    siblingsOf,
    collapsed,
    toggleCollapsed: (id: number) =>
      setCollapsed((c) => {
        const n = new Set(c);
        if (!n.delete(id)) n.add(id);
        return n;
      }),
    hideCompleted,
    toggleHideCompleted: () => setHideCompleted((h) => !h),
  };
}

export type TaskTree = ReturnType<typeof useTaskTree>;
