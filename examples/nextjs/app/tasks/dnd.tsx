'use client';
/**
 * One dnd-kit context for the page, so a task can be dropped on a list of the sidebar: lists and
 * tasks are told apart by their ids (`list:7`, `task:12`). A dragged list only meets lists; a
 * dragged task meets the list under the pointer, else the nearest task. The keyboard moves each
 * among its own kind (Space, arrows, Space). The sidebar and the task list each handle their own
 * drops (`useDndMonitor`).
 */
import {
  DndContext,
  KeyboardSensor,
  PointerSensor,
  closestCenter,
  pointerWithin,
  useSensor,
  useSensors,
  type CollisionDetection,
  type KeyboardCoordinateGetter,
  type UniqueIdentifier,
} from '@dnd-kit/core';
import { sortableKeyboardCoordinates } from '@dnd-kit/sortable';
import type { ReactNode } from 'react';

export const listDndId = (id: number): string => `list:${id}`;
export const taskDndId = (id: number): string => `task:${id}`;

export function parseDndId(id: UniqueIdentifier | undefined | null): { kind: 'list' | 'task'; id: number } | null {
  const m = /^(list|task):(\d+)$/.exec(String(id ?? ''));
  return m ? { kind: m[1] as 'list' | 'task', id: Number(m[2]) } : null;
}

const kindOf = (id: UniqueIdentifier | undefined | null) => parseDndId(id)?.kind;

const detect: CollisionDetection = (args) => {
  const kind = kindOf(args.active.id);
  const of = (k: 'list' | 'task') => args.droppableContainers.filter((c) => kindOf(c.id) === k);
  if (kind === 'task') {
    const onList = pointerWithin({ ...args, droppableContainers: of('list') });
    if (onList.length) return onList;
    return closestCenter({ ...args, droppableContainers: of('task') });
  }
  return closestCenter({ ...args, droppableContainers: of('list') });
};

/** The sortable keyboard moves, among the dragged item's own kind only. */
const keyboardCoordinates: KeyboardCoordinateGetter = (event, args) => {
  const all = args.context.droppableContainers;
  const kind = kindOf(args.context.active?.id);
  const scoped = { getEnabled: () => all.getEnabled().filter((c) => kindOf(c.id) === kind), get: (id: UniqueIdentifier) => all.get(id) };
  return sortableKeyboardCoordinates(event, { ...args, context: { ...args.context, droppableContainers: scoped as unknown as typeof all } });
};

export function PageDnd({ children }: { children: ReactNode }) {
  const sensors = useSensors(
    useSensor(PointerSensor, { activationConstraint: { distance: 4 } }),
    useSensor(KeyboardSensor, { coordinateGetter: keyboardCoordinates }),
  );
  return (
    <DndContext
      id="page"
      sensors={sensors}
      collisionDetection={detect}
      accessibility={{
        screenReaderInstructions: {
          draggable: 'To move it, press Space, move it with the arrow keys, and press Space again to drop it, or Escape to cancel. A task can also be dragged onto a list in the sidebar.',
        },
      }}
    >
      {children}
    </DndContext>
  );
}
