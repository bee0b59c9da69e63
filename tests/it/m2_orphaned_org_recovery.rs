//! M2, M7, I4: revoking an organization's last admin (themselves, or by an
//! ENTERPRISE package admin) must stay possible and must not leave an
//! organization nobody can manage: while it has no active admin, the
//! admins of its license package act as its admins, may appoint a new one,
//! give rooms without a room admin one, create rooms and read and watch
//! its events (E1, E2). Once it has an admin again, that stand-in right
//! ends — for an open WatchEvents stream before the next event. When the
//! revoked admin was also the package's last administrator, the active
//! admins of the package's organizations act as its administrators until
//! it has one again; when there are none either, `roster
//! grant-package-admin` repairs it with database access.

use std::time::Duration;

use roster::domain::{IdentityId, PackageId};
use roster::pb;
use tonic::Code;

use crate::db_tests;
use crate::harness::{Backend, TestServer, assert_status};

db_tests!(
    m2_package_admins_recover_an_organization_whose_last_admin_was_revoked,
    m2_package_admins_create_rooms_and_read_events_only_while_the_org_is_orphaned,
    m2_a_stand_in_watch_ends_once_the_organization_has_an_admin_again,
    m2_a_stand_in_reads_what_it_manages_only_while_the_org_is_orphaned,
    m2_org_admins_stand_in_for_a_package_whose_last_admin_revoked_their_id,
    m2_grant_package_admin_repairs_a_package_nobody_can_manage,
);

async fn m2_package_admins_recover_an_organization_whose_last_admin_was_revoked(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, _pkg_admin, pkg_token) = s.package_with_admin(pb::Plan::Enterprise, 50).await;
    let (_, _, stranger_token) = s.package_with_admin(pb::Plan::Enterprise, 5).await;
    let mut recovered = 0;
    for self_revoke in [true, false] {
        let last_admin = s.create_identity("Last").await;
        let (_, user, pass) = s
            .issue_credential(&package, &format!("last-{}", last_admin.to_lowercase()))
            .await;
        let last_token = s.sign_in(&last_admin, &user, &pass).await;
        let org = s.create_org(&package, &last_admin).await;
        let room = s.create_room(&org, &last_admin).await;
        let bea = s.new_member(&org, "Bea", pb::MemberRole::Member).await;
        s.add_room_member(&room, &bea, pb::RoomRole::Member).await;
        let promote = |token: String, who: String| {
            let mut client = s.membership(Some(&token));
            let req = pb::UpdateMemberRoleRequest {
                request_id: String::new(),
                organization_id: org.clone(),
                identity_id: who,
                role: pb::MemberRole::Admin as i32,
            };
            async move { client.update_member_role(req).await }
        };
        // While the organization has an admin, package admins are not its
        // admins.
        assert_status(
            promote(pkg_token.clone(), bea.clone()).await,
            Code::PermissionDenied,
            Some("NOT_ORGANIZATION_ADMIN"),
        );
        let (client_token, package_id) = if self_revoke {
            (last_token.clone(), String::new())
        } else {
            (pkg_token.clone(), package.clone())
        };
        s.identity(Some(&client_token))
            .revoke_identity(pb::RevokeIdentityRequest {
                request_id: String::new(),
                identity_id: last_admin.clone(),
                revocation_password: String::new(),
                package_id,
            })
            .await
            .expect("revoking the last admin stays possible");
        assert!(s.member(&org, &last_admin).await.is_none());

        // A package admin of another package gains nothing.
        assert_status(
            promote(stranger_token.clone(), bea.clone()).await,
            Code::PermissionDenied,
            None,
        );
        // M7: the room without a room admin gets one from the package admin.
        s.membership(Some(&pkg_token))
            .update_room_member(pb::UpdateRoomMemberRequest {
                request_id: String::new(),
                room_member: Some(pb::RoomMember {
                    room_id: room.clone(),
                    identity_id: bea.clone(),
                    role: pb::RoomRole::Admin as i32,
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["role".into()],
                }),
            })
            .await
            .expect("room admin appointed by the package admin");
        // M2: and the organization a new admin.
        promote(pkg_token.clone(), bea.clone())
            .await
            .expect("organization admin appointed by the package admin");
        let bea_member = s.member(&org, &bea).await.expect("bea");
        assert_eq!(bea_member.role, pb::MemberRole::Admin as i32);
        // The organization has an admin again: the stand-in right ends.
        let cleo = s.new_member(&org, "Cleo", pb::MemberRole::Member).await;
        assert_status(
            promote(pkg_token.clone(), cleo).await,
            Code::PermissionDenied,
            Some("NOT_ORGANIZATION_ADMIN"),
        );
        let room_admins = s
            .room_members(&room)
            .await
            .into_iter()
            .filter(|m| m.role == pb::RoomRole::Admin as i32)
            .count();
        assert_eq!(room_admins, 1);
        recovered += 1;
    }
    assert_eq!(recovered, 2);
}

/// An organization of `package` whose only active admin was revoked by the
/// package's admin (`pkg_token`), with an active MEMBER and a deactivated
/// ADMIN; returns (org, member, deactivated admin).
async fn orphaned_org(s: &TestServer, package: &str, pkg_token: &str) -> (String, String, String) {
    let last_admin = s.create_identity("Last").await;
    let (_, user, pass) = s
        .issue_credential(package, &format!("last-{}", last_admin.to_lowercase()))
        .await;
    s.sign_in(&last_admin, &user, &pass).await;
    let org = s.create_org(package, &last_admin).await;
    let member = s.new_member(&org, "Bea", pb::MemberRole::Member).await;
    let dormant = s.new_member(&org, "Dora", pb::MemberRole::Admin).await;
    s.svc_membership()
        .deactivate_member(pb::DeactivateMemberRequest {
            organization_id: org.clone(),
            identity_id: dormant.clone(),
            ..Default::default()
        })
        .await
        .expect("deactivate the second admin");
    s.identity(Some(pkg_token))
        .revoke_identity(pb::RevokeIdentityRequest {
            request_id: String::new(),
            identity_id: last_admin,
            revocation_password: String::new(),
            package_id: package.to_owned(),
        })
        .await
        .expect("revoke the last active admin");
    (org, member, dormant)
}

fn room_request(org: &str, admin: &str) -> pb::CreateRoomRequest {
    pb::CreateRoomRequest {
        request_id: String::new(),
        room: Some(pb::Room {
            organization_id: org.to_owned(),
            display_name: "Recovery room".to_owned(),
            ..Default::default()
        }),
        admin_identity_id: admin.to_owned(),
    }
}

fn org_filter(org: &str) -> Option<pb::EventFilter> {
    Some(pb::EventFilter {
        organization_id: org.to_owned(),
        ..Default::default()
    })
}

async fn list_org_events(
    s: &TestServer,
    token: &str,
    org: &str,
) -> Result<Vec<pb::Event>, tonic::Status> {
    s.events(Some(token))
        .list_audit_events(pb::ListAuditEventsRequest {
            filter: org_filter(org),
            page_size: 100,
            page_token: String::new(),
        })
        .await
        .map(|r| r.into_inner().events)
}

async fn watch_org(
    s: &TestServer,
    token: &str,
    org: &str,
) -> Result<tonic::Streaming<pb::WatchEventsResponse>, tonic::Status> {
    s.events(Some(token))
        .watch_events(pb::WatchEventsRequest {
            cursor: String::new(),
            filter: org_filter(org),
        })
        .await
        .map(|r| r.into_inner())
}

/// CreateRoom, ListAuditEvents and WatchEvents by organization follow the
/// same stand-in rule as require_org_admin: not while the organization has
/// an admin, yes while it has none, and never for another package's admin.
async fn m2_package_admins_create_rooms_and_read_events_only_while_the_org_is_orphaned(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, _pkg_admin, pkg_token) = s.package_with_admin(pb::Plan::Enterprise, 50).await;
    let (_, _, stranger_token) = s.package_with_admin(pb::Plan::Enterprise, 5).await;

    // While the organization has an admin, its package's admins are not
    // its admins.
    let boss = s.create_identity("Boss").await;
    let managed = s.create_org(&package, &boss).await;
    let worker = s
        .new_member(&managed, "Worker", pb::MemberRole::Member)
        .await;
    assert_status(
        s.membership(Some(&pkg_token))
            .create_room(room_request(&managed, &worker))
            .await,
        Code::PermissionDenied,
        None,
    );
    assert_status(
        list_org_events(&s, &pkg_token, &managed).await,
        Code::PermissionDenied,
        Some("NOT_AUTHORIZED"),
    );
    assert_status(
        watch_org(&s, &pkg_token, &managed).await,
        Code::PermissionDenied,
        Some("NOT_AUTHORIZED"),
    );

    let (org, bea, _) = orphaned_org(&s, &package, &pkg_token).await;
    // Another package's admin gains nothing.
    assert_status(
        s.membership(Some(&stranger_token))
            .create_room(room_request(&org, &bea))
            .await,
        Code::PermissionDenied,
        None,
    );
    assert_status(
        list_org_events(&s, &stranger_token, &org).await,
        Code::PermissionDenied,
        Some("NOT_AUTHORIZED"),
    );
    assert_status(
        watch_org(&s, &stranger_token, &org).await,
        Code::PermissionDenied,
        Some("NOT_AUTHORIZED"),
    );

    // The package admin stands in: creates a room administered by a member,
    let room = s
        .membership(Some(&pkg_token))
        .create_room(room_request(&org, &bea))
        .await
        .expect("room created by the stand-in admin")
        .into_inner()
        .room_id;
    let admins: Vec<String> = s
        .room_members(&room)
        .await
        .into_iter()
        .filter(|m| m.role == pb::RoomRole::Admin as i32)
        .map(|m| m.identity_id)
        .collect();
    assert_eq!(admins, std::slice::from_ref(&bea));
    // reads the audit log (the revocation's removal and the new room),
    let events = list_org_events(&s, &pkg_token, &org)
        .await
        .expect("audit log read by the stand-in admin");
    assert!(events.iter().all(|e| e.organization_id == org));
    for wanted in [pb::EventType::MemberRemoved, pb::EventType::RoomCreated] {
        assert!(
            events.iter().any(|e| e.r#type == wanted as i32),
            "{wanted:?} missing from {events:?}"
        );
    }
    // and watches the organization.
    let mut stream = watch_org(&s, &pkg_token, &org)
        .await
        .expect("watch opened by the stand-in admin");
    let first = stream.message().await.expect("ok").expect("open");
    assert!(first.event.is_none(), "a heartbeat first");
    drop(stream);

    // An admin again: the stand-in right ends everywhere.
    s.svc_membership()
        .update_member_role(pb::UpdateMemberRoleRequest {
            request_id: String::new(),
            organization_id: org.clone(),
            identity_id: bea.clone(),
            role: pb::MemberRole::Admin as i32,
        })
        .await
        .expect("promote");
    assert_status(
        s.membership(Some(&pkg_token))
            .create_room(room_request(&org, &bea))
            .await,
        Code::PermissionDenied,
        None,
    );
    assert_status(
        list_org_events(&s, &pkg_token, &org).await,
        Code::PermissionDenied,
        Some("NOT_AUTHORIZED"),
    );
    assert_status(
        watch_org(&s, &pkg_token, &org).await,
        Code::PermissionDenied,
        Some("NOT_AUTHORIZED"),
    );
}

/// How the orphaned organization gets an active admin again.
#[derive(Debug, Clone, Copy)]
enum Restored {
    /// AddMember with role ADMIN.
    AdminAdded,
    /// ReactivateMember of a deactivated ADMIN.
    AdminReactivated,
    /// UpdateMemberRole of a member to ADMIN.
    MemberPromoted,
}

/// E2 for the stand-in right: a package admin's stream on an orphaned
/// organization ends (PERMISSION_DENIED) before it delivers any event
/// committed after the organization got an active admin again, however it
/// got one.
async fn m2_a_stand_in_watch_ends_once_the_organization_has_an_admin_again(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, _pkg_admin, pkg_token) = s.package_with_admin(pb::Plan::Enterprise, 50).await;
    let cases = [
        Restored::AdminAdded,
        Restored::AdminReactivated,
        Restored::MemberPromoted,
    ];
    let mut ended = 0;
    for (n, how) in cases.into_iter().enumerate() {
        let (org, bea, dora) = orphaned_org(&s, &package, &pkg_token).await;
        let mut stream = watch_org(&s, &pkg_token, &org)
            .await
            .expect("watch opened by the stand-in admin");
        let first = stream.message().await.expect("ok").expect("open");
        assert!(first.event.is_none(), "a heartbeat first");
        // An event the stand-in may see while the organization is orphaned.
        let early = s
            .new_member(&org, &format!("Early{n}"), pb::MemberRole::Member)
            .await;
        // Delivered before the change (a watcher that lags behind may
        // re-check its right against a newer state and end earlier, which
        // is allowed: never later).
        loop {
            match tokio::time::timeout(Duration::from_secs(8), stream.message()).await {
                Ok(Ok(Some(msg))) if msg.event.as_ref().is_some_and(|e| e.identity_id == early) => {
                    break;
                }
                Ok(Ok(Some(_))) => {}
                other => {
                    panic!("{how:?}: the event before the change was not delivered: {other:?}")
                }
            }
        }

        match how {
            Restored::AdminAdded => {
                s.new_member(&org, &format!("NewAdmin{n}"), pb::MemberRole::Admin)
                    .await;
            }
            Restored::AdminReactivated => {
                s.svc_membership()
                    .reactivate_member(pb::ReactivateMemberRequest {
                        request_id: String::new(),
                        organization_id: org.clone(),
                        identity_id: dora.clone(),
                    })
                    .await
                    .expect("reactivate the deactivated admin");
            }
            Restored::MemberPromoted => {
                s.svc_membership()
                    .update_member_role(pb::UpdateMemberRoleRequest {
                        request_id: String::new(),
                        organization_id: org.clone(),
                        identity_id: bea.clone(),
                        role: pb::MemberRole::Admin as i32,
                    })
                    .await
                    .expect("promote");
            }
        }
        // The next event in scope, committed after the organization has an
        // admin again.
        let late = s
            .new_member(&org, &format!("Late{n}"), pb::MemberRole::Member)
            .await;

        let status = loop {
            match tokio::time::timeout(Duration::from_secs(8), stream.message()).await {
                Err(_) => panic!("{how:?}: stream still open"),
                Ok(Err(status)) => break status,
                Ok(Ok(None)) => panic!("{how:?}: stream closed without a status"),
                Ok(Ok(Some(msg))) => {
                    if let Some(e) = msg.event {
                        assert_ne!(e.identity_id, late, "{how:?}: delivered {e:?} after");
                    }
                }
            }
        };
        assert_eq!(status.code(), Code::PermissionDenied, "{how:?}: {status:?}");
        ended += 1;
    }
    assert_eq!(ended, cases.len());
}

/// The stand-in may read what it may change (M2): the organization, a
/// room's members, the assignments — only while the organization has no
/// active admin, and never another package's.
async fn m2_a_stand_in_reads_what_it_manages_only_while_the_org_is_orphaned(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, _pkg_admin, pkg_token) = s.package_with_admin(pb::Plan::Enterprise, 50).await;
    let (_, _, stranger_token) = s.package_with_admin(pb::Plan::Enterprise, 5).await;
    let (org, bea, dormant) = orphaned_org(&s, &package, &pkg_token).await;
    let room = s.create_room(&org, &bea).await;
    s.create_assignment(&room, &bea, "Keep going").await;
    let reads = |token: String| {
        let (s, org, room) = (&s, org.clone(), room.clone());
        async move {
            let mut m = s.membership(Some(&token));
            let get = m
                .get_organization(pb::GetOrganizationRequest {
                    organization_id: org.clone(),
                })
                .await
                .map(drop);
            let members = m
                .list_room_members(pb::ListRoomMembersRequest {
                    room_id: room.clone(),
                    ..Default::default()
                })
                .await
                .map(|r| r.into_inner().room_members.len());
            let tasks = m
                .list_assignments(pb::ListAssignmentsRequest {
                    organization_id: org.clone(),
                    ..Default::default()
                })
                .await
                .map(|r| r.into_inner().assignments.len());
            (get, members, tasks)
        }
    };
    let (get, members, tasks) = reads(pkg_token.clone()).await;
    get.expect("the stand-in reads the organization");
    assert_eq!(members.expect("and the room's members"), 1);
    assert_eq!(tasks.expect("and the assignments"), 1);
    let (get, members, tasks) = reads(stranger_token.clone()).await;
    assert_eq!(get.unwrap_err().code(), Code::PermissionDenied);
    assert_eq!(members.unwrap_err().code(), Code::PermissionDenied);
    assert_eq!(tasks.unwrap_err().code(), Code::PermissionDenied);
    // An admin again: the package admin is nobody here any more.
    s.svc_membership()
        .reactivate_member(pb::ReactivateMemberRequest {
            request_id: String::new(),
            organization_id: org.clone(),
            identity_id: dormant,
        })
        .await
        .expect("the admin is back");
    let (get, members, tasks) = reads(pkg_token).await;
    assert_eq!(get.unwrap_err().code(), Code::PermissionDenied);
    assert_eq!(members.unwrap_err().code(), Code::PermissionDenied);
    assert_eq!(tasks.unwrap_err().code(), Code::PermissionDenied);
}

/// GetLicensePackage with `token`.
async fn get_package(
    s: &TestServer,
    token: &str,
    package: &str,
) -> Result<pb::LicensePackage, tonic::Status> {
    s.license(Some(token))
        .get_license_package(pb::GetLicensePackageRequest {
            package_id: package.to_owned(),
        })
        .await
        .map(|r| r.into_inner())
}

/// UpdateLicensePackage with `token`, replacing the administrators.
async fn set_package_admins(
    s: &TestServer,
    token: &str,
    package: &str,
    admins: &[&str],
) -> Result<pb::LicensePackage, tonic::Status> {
    s.license(Some(token))
        .update_license_package(pb::UpdateLicensePackageRequest {
            request_id: String::new(),
            license_package: Some(pb::LicensePackage {
                package_id: package.to_owned(),
                admin_identity_ids: admins.iter().map(|a| a.to_string()).collect(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["admin_identity_ids".into()],
            }),
        })
        .await
        .map(|r| r.into_inner())
}

/// UpdateMemberRole to ADMIN with `token`.
async fn promote(
    s: &TestServer,
    token: &str,
    org: &str,
    who: &str,
) -> Result<pb::Member, tonic::Status> {
    s.membership(Some(token))
        .update_member_role(pb::UpdateMemberRoleRequest {
            request_id: String::new(),
            organization_id: org.to_owned(),
            identity_id: who.to_owned(),
            role: pb::MemberRole::Admin as i32,
        })
        .await
        .map(|r| r.into_inner())
}

/// The package's last administrator, also the only admin of `hq`, revokes
/// their own ID: the package has no administrator, `hq` no active admin.
async fn revoke_self(s: &TestServer, identity: &str, token: &str) {
    s.identity(Some(token))
        .revoke_identity(pb::RevokeIdentityRequest {
            request_id: String::new(),
            identity_id: identity.to_owned(),
            revocation_password: String::new(),
            package_id: String::new(),
        })
        .await
        .expect("revoking the last admin stays possible");
}

/// M2, the package side: the package admin who was also an organization's
/// only admin revokes their own ID. While the package has no administrator,
/// an ACTIVE ADMIN of another organization of the package, or of a
/// sub-organization, acts as its administrator and appoints a new one;
/// MEMBERs, deactivated admins and other packages' admins do not. The new
/// package admin then stands in for the orphaned organization as usual,
/// and the organization admins are nobody to the package any more.
async fn m2_org_admins_stand_in_for_a_package_whose_last_admin_revoked_their_id(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, last, last_token) = s.package_with_admin(pb::Plan::Enterprise, 50).await;
    let (_, _, stranger_token) = s.package_with_admin(pb::Plan::Enterprise, 5).await;
    let hq = s.create_org(&package, &last).await;
    let hugo = s.new_member(&hq, "Hugo", pb::MemberRole::Member).await;
    let lab_admin = s.create_identity("Lab").await;
    s.create_sub_org(&hq, &lab_admin).await;
    let sales_admin = s.create_identity("Sales").await;
    let sales = s.create_org(&package, &sales_admin).await;
    let seller = s.new_member(&sales, "Seller", pb::MemberRole::Member).await;
    let dormant = s.new_member(&sales, "Dora", pb::MemberRole::Admin).await;
    let lab_token = s.token_for(&package, &lab_admin).await;
    let sales_token = s.token_for(&package, &sales_admin).await;
    let seller_token = s.token_for(&package, &seller).await;
    let dormant_token = s.token_for(&package, &dormant).await;
    s.svc_membership()
        .deactivate_member(pb::DeactivateMemberRequest {
            organization_id: sales.clone(),
            identity_id: dormant.clone(),
            ..Default::default()
        })
        .await
        .expect("deactivate the second admin of sales");
    let nora = s.create_identity("Nora").await;

    // While the package has an administrator, organization admins are not
    // its administrators.
    for token in [&sales_token, &lab_token] {
        assert_status(
            get_package(&s, token, &package).await,
            Code::PermissionDenied,
            Some("NOT_PACKAGE_ADMIN"),
        );
    }

    revoke_self(&s, &last, &last_token).await;
    let svc_view = s
        .svc_license()
        .get_license_package(pb::GetLicensePackageRequest {
            package_id: package.clone(),
        })
        .await
        .expect("get package")
        .into_inner();
    assert!(svc_view.admin_identity_ids.is_empty(), "{svc_view:?}");

    // A member, a deactivated admin, another package's admin: nobody.
    for token in [&seller_token, &dormant_token, &stranger_token] {
        assert_status(
            get_package(&s, token, &package).await,
            Code::PermissionDenied,
            Some("NOT_PACKAGE_ADMIN"),
        );
        assert_status(
            set_package_admins(&s, token, &package, &[&nora]).await,
            Code::PermissionDenied,
            Some("NOT_PACKAGE_ADMIN"),
        );
    }
    // The admin of the sub-organization stands in (reads the package),
    let seen = get_package(&s, &lab_token, &package)
        .await
        .expect("the sub-organization's admin reads the package");
    assert!(seen.admin_identity_ids.is_empty());
    // plan and seat limit stay with service keys,
    let mut plan = s.license(Some(&sales_token));
    assert_status(
        plan.update_license_package(pb::UpdateLicensePackageRequest {
            request_id: String::new(),
            license_package: Some(pb::LicensePackage {
                package_id: package.clone(),
                seat_limit: 60,
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["seat_limit".into()],
            }),
        })
        .await,
        Code::PermissionDenied,
        Some("NOT_AUTHORIZED"),
    );
    // and the other organization's admin appoints a new administrator.
    let updated = set_package_admins(&s, &sales_token, &package, &[&nora])
        .await
        .expect("the other organization's admin appoints a package admin");
    assert_eq!(updated.admin_identity_ids, vec![nora.clone()]);

    // The package has an administrator again: the fallback ends.
    for token in [&sales_token, &lab_token] {
        assert_status(
            get_package(&s, token, &package).await,
            Code::PermissionDenied,
            Some("NOT_PACKAGE_ADMIN"),
        );
        assert_status(
            set_package_admins(&s, token, &package, &[&lab_admin]).await,
            Code::PermissionDenied,
            Some("NOT_PACKAGE_ADMIN"),
        );
    }
    // The new package admin stands in for the orphaned organization.
    let nora_token = s.token_for(&package, &nora).await;
    assert_status(
        promote(&s, &sales_token, &hq, &hugo).await,
        Code::PermissionDenied,
        Some("NOT_ORGANIZATION_ADMIN"),
    );
    let hugo_member = promote(&s, &nora_token, &hq, &hugo)
        .await
        .expect("the new package admin appoints an admin of the orphaned organization");
    assert_eq!(hugo_member.role, pb::MemberRole::Admin as i32);
    let package_view = get_package(&s, &nora_token, &package)
        .await
        .expect("the new package admin reads the package");
    assert_eq!(package_view.admin_identity_ids, vec![nora]);
}

/// `roster grant-package-admin` against the server's database, as an
/// operator would run it: (exit status, stdout, stderr).
async fn grant_cli(s: &TestServer, package: &str, identity: &str) -> (bool, String, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_roster"))
        .env_clear()
        .env("DATABASE_URL", &s.database_url)
        .env("RUST_LOG", "warn")
        .env("NO_COLOR", "1")
        .args([
            "grant-package-admin",
            "--package-id",
            package,
            "--identity-id",
            identity,
        ])
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .expect("run roster grant-package-admin");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The package's audit events of type PACKAGE_UPDATED (service key).
async fn package_updates(s: &TestServer, package: &str) -> Vec<pb::Event> {
    s.svc_events()
        .list_audit_events(pb::ListAuditEventsRequest {
            filter: Some(pb::EventFilter {
                package_id: package.to_owned(),
                types: vec![pb::EventType::PackageUpdated as i32],
                ..Default::default()
            }),
            page_size: 100,
            page_token: String::new(),
        })
        .await
        .expect("list audit events")
        .into_inner()
        .events
}

/// M2's last edge: the package's last administrator was also the only
/// admin of its only organization and revoked their ID, so no session can
/// repair anything. The break-glass command, with database access only,
/// makes an existing identity the package's administrator in one
/// transaction with its audit event (actor SYSTEM, reason BREAK_GLASS);
/// that administrator then recovers the organization. Unknown or malformed
/// IDs, a revoked identity and an identity that already administers the
/// package exit non-zero, say why and change nothing.
async fn m2_grant_package_admin_repairs_a_package_nobody_can_manage(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, last, last_token) = s.package_with_admin(pb::Plan::Enterprise, 10).await;
    let hq = s.create_org(&package, &last).await;
    let hugo = s.new_member(&hq, "Hugo", pb::MemberRole::Member).await;
    let hugo_token = s.token_for(&package, &hugo).await;
    let nora = s.create_identity("Nora").await;
    revoke_self(&s, &last, &last_token).await;
    // Nobody with a session may repair it.
    assert_status(
        get_package(&s, &hugo_token, &package).await,
        Code::PermissionDenied,
        Some("NOT_PACKAGE_ADMIN"),
    );
    assert_status(
        promote(&s, &hugo_token, &hq, &hugo).await,
        Code::PermissionDenied,
        Some("NOT_ORGANIZATION_ADMIN"),
    );

    let (ok, stdout, stderr) = grant_cli(&s, &package, &nora).await;
    assert!(ok, "grant failed: {stdout}{stderr}");
    assert!(
        stdout.contains(&nora) && stdout.contains(&package),
        "says what it did: {stdout}"
    );

    // Nora administers the package and recovers the organization.
    let nora_token = s.token_for(&package, &nora).await;
    let view = get_package(&s, &nora_token, &package)
        .await
        .expect("the granted admin reads the package");
    assert_eq!(view.admin_identity_ids, vec![nora.clone()]);
    promote(&s, &nora_token, &hq, &hugo)
        .await
        .expect("the granted admin stands in for the orphaned organization");

    // The audit event, committed with the grant.
    let grants: Vec<pb::Event> = package_updates(&s, &package)
        .await
        .into_iter()
        .filter(|e| e.reason == "BREAK_GLASS")
        .collect();
    assert_eq!(grants.len(), 1, "{grants:?}");
    let e = &grants[0];
    let actor = e.actor.clone().expect("actor");
    assert_eq!(actor.r#type, pb::ActorType::System as i32, "{e:?}");
    assert!(actor.id.is_empty(), "{e:?}");
    assert_eq!(e.subject_id, package);
    assert_eq!(e.package_id, package);
    assert_eq!(e.identity_id, nora);
    assert_eq!(
        e.attributes.get("admin_added").map(String::as_str),
        Some(nora.as_str())
    );
    assert_eq!(
        e.attributes.get("fields").map(String::as_str),
        Some("admin_identity_ids")
    );

    // Refusals: non-zero exit, a message that says why, nothing written.
    let unknown_package = PackageId::generate().to_string();
    let unknown_identity = IdentityId::generate().to_string();
    let cases = [
        (package.as_str(), nora.as_str(), "already administers"),
        (package.as_str(), last.as_str(), "is revoked"),
        (
            package.as_str(),
            unknown_identity.as_str(),
            "does not exist",
        ),
        (unknown_package.as_str(), hugo.as_str(), "does not exist"),
        ("pkg_nope", hugo.as_str(), "--package-id"),
        (package.as_str(), "nope", "--identity-id"),
    ];
    for (pkg, who, says) in cases {
        let (ok, stdout, stderr) = grant_cli(&s, pkg, who).await;
        assert!(!ok, "{pkg} {who}: succeeded: {stdout}");
        assert!(
            stderr.contains(says),
            "{pkg} {who}: expected {says:?} in {stderr}"
        );
    }
    let view = get_package(&s, &nora_token, &package)
        .await
        .expect("get package");
    assert_eq!(view.admin_identity_ids, vec![nora]);
    let grants = package_updates(&s, &package)
        .await
        .into_iter()
        .filter(|e| e.reason == "BREAK_GLASS")
        .count();
    assert_eq!(grants, 1);
}
