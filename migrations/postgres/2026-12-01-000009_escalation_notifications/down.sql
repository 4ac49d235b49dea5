ALTER TABLE notifications DROP COLUMN overdue_notification_id;
ALTER TABLE notifications DROP COLUMN overdue_agency_id;
