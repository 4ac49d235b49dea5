DROP TABLE policy_epoch;
