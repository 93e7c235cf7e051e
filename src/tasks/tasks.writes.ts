/**
 * The task writes, each the one implementation of its route and of its batch operation (API.md,
 * version 3, "Batch"): a check of the input that needs no database (a route runs it before the write
 * pipeline), then the write itself on an executor (the database, or the transaction it is part of),
 * answering the route's own status, body and ETag, and whom it told. Errors are the contract's
 * (ApiError), thrown having written nothing.
 */
import { randomUUID } from 'node:crypto';
import { allows, leastRoleFor, type Role } from '../access/roles.js';
import type { AccessScope } from '../access/scope.js';
import type { Executor } from '../db/client.js';
import { ApiError } from '../errors.js';
import { versionTag } from '../http/conditional.js';
import type { Written } from '../writes/pipeline.js';
import { isPositionKey } from './positions.js';
import { checkRecurrenceFields, checkRecurrenceNeedsDue } from './recurrence.js';
import { checkReminders, checkRemindersNeedDue, hasRelative } from './reminders.js';
import type { TasksRepository, VersionMatch, WrittenRow } from './tasks.repository.js';
import { LEVELS_MAX, type TaskCreate, type TaskMove, type TaskUpdate } from './tasks.schemas.js';
import { recurred, type TaskTree } from './tasks.tree.js';
import type { TaskRow } from '../db/schema.js';

export const TASK_NOT_FOUND = 'Task not found';
export const LIST_NOT_FOUND = 'List not found';

/** The fields of a PUT that go through the tree's writes (tasks.tree.ts) rather than one UPDATE. */
const TREE_FIELDS = ['completed', 'list_id', 'parent_id', 'position', 'assignee_id', 'uid'] as const;

/** A position the package could not have made is a 400 naming it (before anything runs). */
function checkPosition(position: string | undefined): void {
  if (position !== undefined && !isPositionKey(position)) {
    throw new ApiError('VALIDATION_ERROR', 'position must be a fractional-indexing key (base 62), as generateKeyBetween of the npm package fractional-indexing makes them');
  }
}

/** Tags as stored: trimmed, duplicates that differ only in case collapsed to the first spelling, order kept. */
function normalizeTags(tags: unknown[]): unknown[] {
  const seen = new Set<string>();
  const out: unknown[] = [];
  for (const tag of tags) {
    if (typeof tag !== 'string') {
      out.push(tag); // left for validation to refuse
      continue;
    }
    const trimmed = tag.trim();
    const key = trimmed.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(trimmed);
  }
  return out;
}

/**
 * Titles and tags count after trimming (and tags after collapsing duplicates): a task body is
 * normalized before validation, so that the schema's limits apply to what is stored.
 */
export function normalizeTaskBody(body: unknown): void {
  if (body === null || typeof body !== 'object') return;
  const task = body as { title?: unknown; tags?: unknown };
  if (typeof task.title === 'string') task.title = task.title.trim();
  if (Array.isArray(task.tags)) task.tags = normalizeTags(task.tags);
}

/** A recurring task completed stays pending at its next occurrence: still "completed" (tasks.tree.ts, recurred). */
const completedMessage = (task: TaskRow) => (task.completed || recurred.has(task) ? 'Task marked as completed' : 'Task marked as pending');

/** A written task as an answer: status, envelope, ETag, and whom to tell (each member, at the change's number in their feed). */
export function written(status: number, row: WrittenRow, message: string): Written {
  const { told_users: users, told_seqs: seqs, ...task } = row;
  return { status, body: { data: task, message }, headers: { etag: versionTag(row.version) }, told: users.map((u, i) => [u, Number(seqs[i])]) };
}

/** PATCH .../complete's body: nothing (a toggle), or `completed` and perhaps `occurrence`. */
export type Completion = { completed?: boolean; occurrence?: string } | null | undefined;

export function createTaskWrites(options: { repository: TasksRepository; tree: TaskTree; maxTasksPerUser: number }) {
  const { repository, tree, maxTasksPerUser } = options;

  /**
   * A write that matched nothing: a task the caller cannot see is a 404; one they may only read, a 403
   * naming the role it needs; one at another version than If-Match's, a 412 with the current ETag.
   */
  async function unmatched(scope: AccessScope, id: number, match: VersionMatch | undefined, exec: Executor): Promise<never> {
    const found = await repository.unmatched(scope, id, exec);
    if (found === null) throw new ApiError('NOT_FOUND', TASK_NOT_FOUND);
    if (!found.mayWrite) throw new ApiError('FORBIDDEN', `Changing this list's tasks needs the ${leastRoleFor('task.write')} role`);
    if (match !== undefined) {
      throw new ApiError('PRECONDITION_FAILED', `The task has changed since the version in If-Match (it is now at version ${found.version})`, {
        etag: versionTag(found.version),
      });
    }
    throw new ApiError('NOT_FOUND', TASK_NOT_FOUND);
  }

  /** Why a create wrote nothing, checked in the contract's order: the list, the role, the fields, the uid, the limit. */
  async function createRefused(scope: AccessScope, body: TaskCreate, exec: Executor): Promise<never> {
    const why = await repository.createRefusal(scope, body, exec);
    if (why.role === null) throw new ApiError('NOT_FOUND', LIST_NOT_FOUND);
    if (!allows(why.role as Role, 'task.write')) throw new ApiError('FORBIDDEN', `Adding tasks to this list needs the ${leastRoleFor('task.write')} role`);
    if (body.parent_id != null && why.parent_level === 0) throw new ApiError('VALIDATION_ERROR', 'parent_id must be a task of the same list');
    if (body.parent_id != null && why.parent_level >= LEVELS_MAX) {
      throw new ApiError('VALIDATION_ERROR', `parent_id would make more than ${LEVELS_MAX} levels of subtasks`);
    }
    if (!why.assignee_ok) throw new ApiError('VALIDATION_ERROR', "assignee_id must be null or a member of the task's list");
    if (why.uid_taken) throw new ApiError('CONFLICT', 'uid is already in use by another task: choose another (nothing was created)');
    throw new ApiError('TASK_LIMIT_REACHED', `The list's owner keeps ${maxTasksPerUser} tasks, the most allowed: delete some to create more`);
  }

  return {
    /** POST /tasks, before the write: the checks no schema makes (position, recurrence). */
    checkCreate(body: TaskCreate): void {
      checkPosition(body.position);
      checkRecurrenceFields(body);
      checkRecurrenceNeedsDue(body.recurrence, body.due_at);
      checkReminders(body.reminders);
      checkRemindersNeedDue(body.reminders, body.due_at);
    },

    /** POST /tasks: 201 with the task. */
    async create(scope: AccessScope, body: TaskCreate, exec: Executor): Promise<Written> {
      // A subtask: the list's writes are held first (tasks.tree.ts), so its parent cannot move or go meanwhile.
      const row =
        body.parent_id != null
          ? await tree.locked(scope, body.list_id ?? scope.inboxId, exec, (tx) => repository.create(scope, body, tx))
          : await repository.create(scope, body, exec);
      if (row === null) return createRefused(scope, body, exec);
      return written(201, row, 'Task created successfully');
    },

    /**
     * Creates of a batch in one statement (tasks.repository.ts, createMany), each answered as POST
     * /tasks answers it; null where one must run on its own (its uid was taken meanwhile), or null
     * for all when a check failed and nothing was written. Each body is checked (checkCreate) and
     * at the top level of one list, with no position.
     */
    async createMany(scope: AccessScope, bodies: TaskCreate[], exec: Executor): Promise<(Written | null)[] | null> {
      const withUids = bodies.map((body) => ({ ...body, uid: body.uid ?? randomUUID() }));
      const rows = await repository.createMany(scope, withUids, exec);
      if (rows === null) return null;
      const byUid = new Map(rows.map((row) => [row.uid, row]));
      return withUids.map((body) => {
        const row = byUid.get(body.uid);
        return row === undefined ? null : written(201, row, 'Task created successfully');
      });
    },

    /** PUT /tasks/{id}, before the write: the checks no schema makes. */
    checkUpdate(body: TaskUpdate): void {
      checkPosition(body.position);
      checkRecurrenceFields(body);
      checkReminders(body.reminders);
    },

    /** PUT /tasks/{id}: 200 with the task as changed. */
    async update(scope: AccessScope, id: number, body: TaskUpdate, match: VersionMatch | undefined, exec: Executor): Promise<Written> {
      // A rule or a relative reminder set, or due_at cleared: checked against the task as it is, under its lock (both need a due_at).
      const recurrenceChecked = body.recurrence != null || body.due_at === null || hasRelative(body.reminders);
      // A change of completion or of the task's place: with what follows from it (tasks.tree.ts).
      if (recurrenceChecked || TREE_FIELDS.some((f) => body[f] !== undefined)) {
        return written(200, await tree.update(scope, id, { changes: body }, match, exec), 'Task updated successfully');
      }
      // The validated body holds only writable fields (validation dropped the rest): it goes on as is.
      for (let attempt = 0; ; attempt++) {
        const row = await repository.update(scope, id, body, match, exec);
        if (row !== null) return written(200, row, 'Task updated successfully');
        // Moved to another list of the caller's while the statement ran (its list check failed under
        // the row lock): still theirs to write, at a version If-Match accepts, so it runs again.
        const now = attempt < 3 ? await repository.unmatched(scope, id, exec) : null;
        const accepted = now !== null && now.mayWrite && (match === undefined || 'any' in match || match.versions.includes(now.version));
        if (!accepted) return unmatched(scope, id, match, exec);
      }
    },

    /** DELETE /tasks/{id}: 200 with the task as it was; its descendants with it (tasks.tree.ts). */
    async remove(scope: AccessScope, id: number, match: VersionMatch | undefined, exec: Executor): Promise<Written> {
      return written(200, await tree.remove(scope, id, match, exec), 'Task deleted successfully');
    },

    /** PATCH /tasks/{id}/complete: without `completed` a toggle; the message says which state the task is in. */
    async complete(scope: AccessScope, id: number, body: Completion, match: VersionMatch | undefined, exec: Executor): Promise<Written> {
      const completed = body?.completed;
      const occurrence = body?.occurrence;
      // Completing completes the pending descendants; reopening reopens the completed ancestors (tasks.tree.ts).
      const change = completed === undefined ? { changes: {}, toggle: true } : { changes: { completed } };
      // One statement when it can be (tasks.tree.ts, quickComplete); else the three steps, which say why not.
      const quick = occurrence === undefined ? await tree.quickComplete(scope, id, completed, match, exec) : null;
      const row = quick ?? (await tree.update(scope, id, occurrence === undefined ? change : { ...change, occurrence }, match, exec));
      return written(200, row, completedMessage(row));
    },

    /** POST /tasks/{id}/move: 200 with the task, placed. */
    async move(scope: AccessScope, id: number, body: TaskMove, match: VersionMatch | undefined, exec: Executor): Promise<Written> {
      const { list_id, parent_id, after_id, before_id } = body;
      const changes = { ...(list_id === undefined ? {} : { list_id }), ...(parent_id === undefined ? {} : { parent_id }) };
      return written(200, await tree.update(scope, id, { changes, place: { after_id, before_id } }, match, exec), 'Task moved successfully');
    },

    /** POST /tasks/{id}/skip: 200 with the task at its next occurrence. */
    async skip(scope: AccessScope, id: number, match: VersionMatch | undefined, exec: Executor): Promise<Written> {
      return written(200, await tree.skip(scope, id, match, exec), 'Task skipped successfully');
    },
  };
}

export type TaskWrites = ReturnType<typeof createTaskWrites>;
