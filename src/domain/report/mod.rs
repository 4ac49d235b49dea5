//! Aggregate reports for the partnership's strategic picture, built from records the
//! reader's agency may count and published with small-number protection
//! (`domain::disclosure`).
pub mod threat_picture;
