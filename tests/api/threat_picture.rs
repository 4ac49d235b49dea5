//! Threat picture tests.
