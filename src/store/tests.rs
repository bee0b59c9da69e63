//! Store-level tests on an in-memory SQLite database: the rules that SQL
//! evaluates in bulk (the idle guest, the seat held by a membership, the
//! tenure join of assignments) and
//! the shape of the store itself. No server, no network: milliseconds.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use super::{DeactivationInput, ManualClock, NewOrganization, NewPackage, Store};
use crate::domain::{
    Actor, AssignmentKind, DeactivationReason, IdentityId, MemberRole, MemberState, NewIdentity,
    OrgId, PackageId, PageRequest, Plan, RoomRole,
};

/// A migrated store on a private in-memory SQLite database (one
/// connection, so every statement sees the same database).
async fn store() -> (Store, Arc<ManualClock>) {
    let db = super::connect("sqlite::memory:", 1).await.unwrap();
    let clock = Arc::new(ManualClock::default());
    let store = Store::new(db, clock.clone());
    store.migrate().await.unwrap();
    (store, clock)
}

fn actor() -> Actor {
    Actor::system()
}

async fn identity(store: &Store, name: &str) -> IdentityId {
    store
        .create_identity(
            actor(),
            NewIdentity {
                display_name: name.to_owned(),
                email: None,
                avatar_url: None,
            },
        )
        .await
        .unwrap()
        .id
}

async fn package(store: &Store, admin: &IdentityId) -> PackageId {
    store
        .create_license_package(
            actor(),
            NewPackage {
                display_name: "Pkg".to_owned(),
                plan: Plan::Enterprise,
                seat_limit: 100,
                admins: vec![admin.clone()],
            },
        )
        .await
        .unwrap()
        .id
}

async fn org(
    store: &Store,
    package: Option<&PackageId>,
    parent: Option<&OrgId>,
    admin: &IdentityId,
    guest_inactivity_secs: Option<i64>,
) -> OrgId {
    store
        .create_organization(
            actor(),
            NewOrganization {
                display_name: "Org".to_owned(),
                package_id: package.cloned(),
                parent_id: parent.cloned(),
                guest_inactivity_secs,
                removal_undo_window_secs: None,
                admin: admin.clone(),
            },
        )
        .await
        .unwrap()
        .0
        .id
}

async fn member(store: &Store, org: &OrgId, name: &str, role: MemberRole) -> IdentityId {
    let id = identity(store, name).await;
    store.add_member(actor(), org, &id, role).await.unwrap();
    id
}

fn deactivation() -> DeactivationInput {
    DeactivationInput {
        reason: DeactivationReason::Other,
        note: String::new(),
        expected_return_ms: None,
    }
}

/// M12 through `rules::idle_guest`: the dry run lists exactly the guests
/// the sweep then deactivates — idle ACTIVE guests of organizations with a
/// limit — and afterwards there is nothing left to sweep.
#[tokio::test]
async fn m12_the_dry_run_lists_exactly_what_the_sweep_deactivates() {
    let (store, clock) = store().await;
    let admin = identity(&store, "Admin").await;
    let pkg = package(&store, &admin).await;
    let limited = org(&store, Some(&pkg), None, &admin, Some(60)).await;
    let unlimited = org(&store, Some(&pkg), None, &admin, None).await;
    let idle_guest = member(&store, &limited, "Idle", MemberRole::Guest).await;
    let busy_guest = member(&store, &limited, "Busy", MemberRole::Guest).await;
    let idle_member = member(&store, &limited, "Member", MemberRole::Member).await;
    let elsewhere = member(&store, &unlimited, "Elsewhere", MemberRole::Guest).await;
    clock.advance(Duration::from_secs(50));
    store.record_activity(&limited, &busy_guest).await.unwrap();
    clock.advance(Duration::from_secs(20));

    let dry = store
        .run_inactivity_sweep(actor(), None, true)
        .await
        .unwrap();
    let listed: Vec<_> = dry.members.iter().map(|m| m.identity_id.clone()).collect();
    assert_eq!(listed, vec![idle_guest.clone()]);
    assert_eq!(dry.count, 1);
    let real = store
        .run_inactivity_sweep(actor(), None, false)
        .await
        .unwrap();
    assert_eq!(real.count, dry.count);
    assert!(
        real.members
            .iter()
            .all(|m| m.state == MemberState::Deactivated)
    );
    let swept: Vec<_> = real.members.iter().map(|m| m.identity_id.clone()).collect();
    assert_eq!(swept, listed, "the sweep did what the dry run said");
    for (org, id, state) in [
        (&limited, &idle_guest, MemberState::Deactivated),
        (&limited, &busy_guest, MemberState::Active),
        (&limited, &idle_member, MemberState::Active),
        (&unlimited, &elsewhere, MemberState::Active),
    ] {
        let standing = store.member_standing(org, id).await.unwrap();
        assert_eq!(standing.map(|s| s.1), Some(state), "{id}");
    }
    let again = store
        .run_inactivity_sweep(actor(), None, true)
        .await
        .unwrap();
    assert_eq!(again.count, 0);
}

/// L6 through `rules::seat_holding_membership`: deactivating an identity
/// in one of two organizations of a package keeps its seat; deactivating
/// it in the last one frees it, once.
#[tokio::test]
async fn l6_the_seat_goes_with_the_last_active_membership_of_the_package() {
    let (store, _) = store().await;
    let admin = identity(&store, "Admin").await;
    let pkg = package(&store, &admin).await;
    let parent = org(&store, Some(&pkg), None, &admin, None).await;
    let child = org(&store, None, Some(&parent), &admin, None).await;
    let who = member(&store, &parent, "Who", MemberRole::Member).await;
    store
        .add_member(actor(), &child, &who, MemberRole::Member)
        .await
        .unwrap();
    let used = |s: &Store| {
        let s = s.clone();
        let pkg = pkg.clone();
        async move { s.seat_usage(&pkg).await.unwrap().used }
    };
    let before = used(&store).await;
    let preview = store
        .preview_offboarding(&parent, &who, super::OffboardingAction::Deactivate, None)
        .await
        .unwrap();
    assert!(!preview.seat_freed);
    assert_eq!(preview.other_active_orgs, vec![child.clone()]);
    store
        .deactivate_member(actor(), &parent, &who, deactivation(), None, None)
        .await
        .unwrap();
    assert_eq!(used(&store).await, before, "still held by the child org");
    let preview = store
        .preview_offboarding(&child, &who, super::OffboardingAction::Remove, None)
        .await
        .unwrap();
    assert!(preview.seat_freed && preview.other_active_orgs.is_empty());
    let removal = store
        .remove_member(actor(), &child, &who, None, None)
        .await
        .unwrap();
    assert!(removal.seat_freed);
    assert_eq!(used(&store).await, before - 1);
    // Removing it from the parent too frees nothing a second time.
    let removal = store
        .remove_member(actor(), &parent, &who, None, None)
        .await
        .unwrap();
    assert!(!removal.seat_freed);
    assert_eq!(used(&store).await, before - 1);
}

/// M8/M9 through `rules::HELD_BY` (the tenure join): an assignment is
/// held by the membership it was given to; removing the member leaves it
/// unassigned, and adding the same identity back (a new tenure) does not
/// hand it back.
#[tokio::test]
async fn m8_an_assignment_is_held_by_its_tenure_only() {
    let (store, _) = store().await;
    let admin = identity(&store, "Admin").await;
    let pkg = package(&store, &admin).await;
    let o = org(&store, Some(&pkg), None, &admin, None).await;
    let ada = member(&store, &o, "Ada", MemberRole::Member).await;
    let room = store
        .create_room(actor(), &o, "Room", &admin)
        .await
        .unwrap();
    store
        .add_room_member(actor(), &room.id, &ada, RoomRole::Member, false)
        .await
        .unwrap();
    let made = store
        .create_assignment(
            actor(),
            super::NewAssignment {
                room_id: room.id.clone(),
                assignee: ada.clone(),
                kind: AssignmentKind::Task,
                title: "Report".to_owned(),
            },
        )
        .await
        .unwrap();
    let page = PageRequest {
        size: 100,
        after: None,
    };
    let list = |assignee: Option<&IdentityId>| {
        let filter = super::AssignmentFilter {
            assignee: assignee.cloned(),
            room: None,
        };
        let (store, o, page) = (store.clone(), o.clone(), page.clone());
        async move {
            store
                .list_assignments(&o, &filter, &page)
                .await
                .unwrap()
                .items
        }
    };
    let held = list(Some(&ada)).await;
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].id, made.id);
    assert_eq!(held[0].assignee.as_ref(), Some(&ada));

    let removal = store
        .remove_member(actor(), &o, &ada, None, None)
        .await
        .unwrap();
    assert_eq!(removal.assignments_dropped, 1);
    assert_eq!(
        list(None).await[0].assignee,
        None,
        "unassigned once removed"
    );

    store
        .add_member(actor(), &o, &ada, MemberRole::Member)
        .await
        .unwrap();
    let all = list(None).await;
    assert_eq!(all.len(), 1);
    assert_eq!(
        all[0].assignee, None,
        "a new tenure does not hold the old assignment"
    );
    assert!(list(Some(&ada)).await.is_empty());
}

/// The store files import each other in layers: following `use
/// super::x` from any file never comes back to it.
#[test]
fn store_files_import_each_other_in_layers() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/store");
    let mut files = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if let Some(stem) = name.strip_suffix(".rs")
            && stem != "mod"
        {
            files.insert(stem.to_owned());
        }
    }
    let mut imports: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let text = std::fs::read_to_string(dir.join(format!("{file}.rs"))).unwrap();
        // Words of every `use super::…;` plus any `super::x::` path.
        let mut words = BTreeSet::new();
        for stmt in text.split("use super::").skip(1) {
            let stmt = stmt.split(';').next().unwrap_or_default();
            words.extend(
                stmt.split(|c: char| !c.is_alphanumeric() && c != '_')
                    .map(str::to_owned),
            );
        }
        for path in text.split("super::").skip(1) {
            if let Some((first, _)) = path.split_once("::") {
                words.insert(first.to_owned());
            }
        }
        let used = files
            .iter()
            .filter(|other| *other != file && words.contains(*other))
            .cloned()
            .collect();
        imports.insert(file.clone(), used);
    }
    assert!(files.len() >= 15, "store files found: {files:?}");
    assert!(imports["identity"].contains("offboarding"), "{imports:?}");
    assert!(imports["license"].contains("seats"), "{imports:?}");
    // Depth-first search for a cycle.
    fn visit(
        at: &str,
        imports: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) {
        if done.contains(at) {
            return;
        }
        assert!(
            !path.iter().any(|p| p == at),
            "import cycle between store files: {path:?} -> {at}"
        );
        path.push(at.to_owned());
        for next in imports.get(at).into_iter().flatten() {
            visit(next, imports, path, done);
        }
        path.pop();
        done.insert(at.to_owned());
    }
    let mut done = BTreeSet::new();
    for file in &files {
        visit(file, &imports, &mut Vec::new(), &mut done);
    }
}
