//! Pure rules of the hub: no actix, no diesel. Value types are parsed once at the edge
//! ("parse, don't validate") and carried through the use cases as these types.
pub mod agency;
pub mod audit;
pub mod audit_query;
pub mod delivery;
pub mod ids;
pub mod msht;
pub mod notification;
pub mod projection;
pub mod role;
pub mod routing;
pub mod subscription;
pub mod validate;
pub mod webhook_url;
