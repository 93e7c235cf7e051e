import type { Task } from './types.js';

/** A task with its subtasks, in order. */
export interface TaskNode {
  task: Task;
  children: TaskNode[];
}

/** `position` compared as bytes (what the API does), then `id`: siblings' order. */
function byPosition(a: Task, b: Task): number {
  if (a.position !== b.position) return a.position < b.position ? -1 : 1;
  return a.id - b.id;
}

/**
 * The tree a UI shows, from a page or a replica's tasks: top-level tasks (and those whose parent is
 * not among `tasks`) at the root, each task's children under it, siblings by `position` then `id`.
 */
export function buildTree(tasks: Iterable<Task>): TaskNode[] {
  const nodes = new Map<number, TaskNode>();
  for (const task of tasks) nodes.set(task.id, { task, children: [] });
  const roots: TaskNode[] = [];
  for (const node of nodes.values()) {
    const parent = node.task.parent_id === null ? undefined : nodes.get(node.task.parent_id);
    (parent ? parent.children : roots).push(node);
  }
  const sort = (list: TaskNode[]) => {
    list.sort((a, b) => byPosition(a.task, b.task));
    for (const n of list) sort(n.children);
  };
  sort(roots);
  return roots;
}
