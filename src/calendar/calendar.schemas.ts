import { Type, type Static } from 'typebox';

export const CALENDAR_FORMATS = ['events', 'todos'] as const;
export type CalendarFormat = (typeof CALENDAR_FORMATS)[number];

/** A calendar feed: an address calendar apps poll without a token (the secret in it is the key). */
export const CalendarFeedSchema = Type.Object(
  {
    id: Type.Integer({ examples: [3] }),
    url: Type.String({
      description: 'The feed, read without a token: `/ical/<secret>.ics` (the secret has 256 random bits). Subscribe to it in a calendar app; revoke it to cut it off.',
      examples: ['/ical/9xQ2m7Jc0sVt4hF1aLkR8eW3pZ6yBn5uDg2oTi7Ka0E.ics'],
    }),
    list_id: Type.Union([Type.Integer(), Type.Null()], { description: 'One list, or null: every list the user is a member of', examples: [7] }),
    format: Type.Union(
      [Type.Literal('events'), Type.Literal('todos')],
      { description: '`events`: a VEVENT per pending task with a due date (calendars); `todos`: a VTODO per task (task clients)', examples: ['events'] },
    ),
  },
  { $id: 'CalendarFeed', title: 'CalendarFeed', additionalProperties: false },
);
export type CalendarFeed = Static<typeof CalendarFeedSchema>;

export const CalendarFeedCreateSchema = Type.Object(
  {
    list_id: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 2_147_483_647 }), Type.Null()], { description: 'One list, or null/absent for all', examples: [7] })),
    format: Type.Optional(Type.Union([Type.Literal('events'), Type.Literal('todos')], { description: 'Default `events`', examples: ['todos'] })),
  },
  { $id: 'CalendarFeedCreate', title: 'CalendarFeedCreate', description: 'Unknown fields are ignored' },
);
export type CalendarFeedCreate = Static<typeof CalendarFeedCreateSchema>;
