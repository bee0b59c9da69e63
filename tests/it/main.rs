//! Integration tests: every test drives a real server through the
//! generated client, on SQLite and on PostgreSQL. Test names carry the
//! SPEC.md tag they prove.

mod harness;

mod identity;
mod membership;
mod membership_access;
mod membership_bench;
mod membership_guards;
mod membership_sweep;
