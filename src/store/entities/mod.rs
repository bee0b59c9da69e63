//! sea-orm entities, one per table. Relations are expressed as explicit
//! joins in the queries that need them.

pub mod attachment;
pub mod credential;
pub mod event;
pub mod identity;
pub mod license_package;
pub mod member;
pub mod organization;
pub mod package_admin;
pub mod room;
pub mod service_key;
pub mod session;
