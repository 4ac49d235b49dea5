DROP TABLE operator_idempotency_keys;
