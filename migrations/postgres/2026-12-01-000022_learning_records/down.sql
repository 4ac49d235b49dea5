DROP TABLE learning_recommendations;
DROP TABLE learning_records;
