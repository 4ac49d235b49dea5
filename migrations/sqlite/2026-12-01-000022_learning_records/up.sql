-- Learning records: a partnership's record of one investigation or operation (its content,
-- JSON as text: subject, title, linked incidents, exploitation types, threats, lessons by
-- theme), and its recommendations, each with an owner agency, a due date and a status,
-- closed only with evidence.
CREATE TABLE learning_records (
    id TEXT PRIMARY KEY NOT NULL,
    partnership_id TEXT NOT NULL REFERENCES partnerships(id),
    recorded_by_agency_id TEXT NOT NULL REFERENCES agencies(id),
    recorded_by_subject TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX learning_records_partnership ON learning_records (partnership_id, id);

CREATE TABLE learning_recommendations (
    id TEXT PRIMARY KEY NOT NULL,
    learning_record_id TEXT NOT NULL REFERENCES learning_records(id),
    partnership_id TEXT NOT NULL REFERENCES partnerships(id),
    text TEXT NOT NULL,
    owner_agency_id TEXT NOT NULL REFERENCES agencies(id),
    due_on DATE NOT NULL,
    status TEXT NOT NULL,
    evidence TEXT,
    closed_at TIMESTAMP,
    closed_by_agency_id TEXT REFERENCES agencies(id),
    closed_by_subject TEXT,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX learning_recommendations_partnership ON learning_recommendations (partnership_id, status);
CREATE INDEX learning_recommendations_record ON learning_recommendations (learning_record_id);
