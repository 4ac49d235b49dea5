//! The IG console: server-rendered pages under `/console` for information-governance
//! officers and hub auditors. Pages call the same use cases as the API and are scoped the
//! same way; they work without JavaScript. Templates are compiled into the binary (askama);
//! the stylesheet is the console's own, served from the binary.
pub mod assets;
pub mod context;
pub mod cookies;
pub mod guard;
pub mod page;
pub mod pages;
pub mod routes;
pub mod sign_in;
