DROP TABLE notifications;
DROP TABLE routing_decisions;
DROP TABLE incidents;
