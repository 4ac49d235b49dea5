-- An escalation (`notification.overdue`) names the partner that is late and the notification
-- it did not acknowledge; it never carries a read of the record.
ALTER TABLE notifications ADD COLUMN overdue_agency_id TEXT;
ALTER TABLE notifications ADD COLUMN overdue_notification_id TEXT;
