//! Integration tests: every test drives a real server through the
//! generated client, on SQLite and on PostgreSQL. Test names carry the
//! SPEC.md tag they prove.

mod harness;

mod authz;
mod consistency;
mod db;
mod errors;
mod events;
mod faults;
mod identity;
mod license;
mod membership;
mod membership_access;
mod membership_guards;
mod membership_sweep;
mod ops;
mod proxy;
mod replicas;
