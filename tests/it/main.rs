//! Integration tests: every test drives a real server through the
//! generated client, on SQLite and on PostgreSQL. Test names carry the
//! SPEC.md tag they prove.

mod harness;

mod authz;
mod consistency;
mod db;
mod deploy;
mod e2_watch_rights;
mod errors;
mod events;
mod faults;
mod i4_erasure_on_disk;
mod i5_sign_in_bursts;
mod identity;
mod identity_sessions;
mod license;
mod license_users;
mod m2_orphaned_org_recovery;
mod m8_preview_matches_outcome;
mod membership;
mod membership_access;
mod membership_guards;
mod membership_lifecycle;
mod membership_sweep;
mod migrations;
mod ops;
mod proxy;
mod replicas;
mod scim;
mod shutdown;
mod telemetry;
mod tls;
mod v1_hostile_input;
mod w1_plan_then_apply;
mod w2_offboard_identity;
mod w3_schedule_requests;
mod w3_scheduled_changes;
mod w4_batches;
mod w5_idempotency;
mod w6_undo_removal;
