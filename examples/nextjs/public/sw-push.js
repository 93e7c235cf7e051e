// Web Push: notifications for reminders (push and notificationclick handlers). Loaded by sw.js.
