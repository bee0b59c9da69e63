//! E2 with A1–A3: an open WatchEvents stream ends (PERMISSION_DENIED or
//! UNAUTHENTICATED) before it delivers any event committed after the
//! change that took the watcher's right away — not at the next heartbeat.

use std::time::{Duration, Instant};

use roster::pb;
use tonic::Code;

use crate::db_tests;
use crate::harness::{Backend, TestServer};

db_tests!(e2_a_stream_ends_before_the_next_event_once_the_watcher_loses_the_right);

#[derive(Debug, Clone, Copy)]
enum Loss {
    Demoted,
    Deactivated,
    Removed,
    SignedOut,
    Revoked,
    DroppedAsPackageAdmin,
    CredentialDeleted,
}

async fn e2_a_stream_ends_before_the_next_event_once_the_watcher_loses_the_right(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, admin, _) = s.package_with_admin(pb::Plan::Business, 100).await;
    let org = s.create_org(&package, &admin).await;
    let cases = [
        Loss::Demoted,
        Loss::Deactivated,
        Loss::Removed,
        Loss::SignedOut,
        Loss::Revoked,
        Loss::DroppedAsPackageAdmin,
        Loss::CredentialDeleted,
    ];
    let mut ended = 0;
    for (n, loss) in cases.into_iter().enumerate() {
        // The watcher: an active admin of the organization and an admin of
        // the package, signed in with its own credential.
        let watcher = s.create_identity(&format!("Watcher{n}")).await;
        let (credential, user, pass) = s
            .issue_credential(&package, &format!("watcher-{n}-{}", watcher.to_lowercase()))
            .await;
        let token = s.sign_in(&watcher, &user, &pass).await;
        s.add_member(&org, &watcher, pb::MemberRole::Admin).await;
        s.svc_license()
            .update_license_package(pb::UpdateLicensePackageRequest {
                request_id: String::new(),
                license_package: Some(pb::LicensePackage {
                    package_id: package.clone(),
                    admin_identity_ids: vec![admin.clone(), watcher.clone()],
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["admin_identity_ids".into()],
                }),
            })
            .await
            .expect("add package admin");
        let filter = match loss {
            Loss::DroppedAsPackageAdmin => pb::EventFilter {
                package_id: package.clone(),
                ..Default::default()
            },
            _ => pb::EventFilter {
                organization_id: org.clone(),
                ..Default::default()
            },
        };
        let mut stream = s
            .events(Some(&token))
            .watch_events(pb::WatchEventsRequest {
                cursor: String::new(),
                filter: Some(filter),
            })
            .await
            .expect("watch")
            .into_inner();
        let first = stream.message().await.expect("ok").expect("open");
        assert!(first.event.is_none(), "a heartbeat first");

        let started = Instant::now();
        match loss {
            Loss::Demoted => {
                s.svc_membership()
                    .update_member_role(pb::UpdateMemberRoleRequest {
                        request_id: String::new(),
                        organization_id: org.clone(),
                        identity_id: watcher.clone(),
                        role: pb::MemberRole::Member as i32,
                    })
                    .await
                    .expect("demote");
            }
            Loss::Deactivated => {
                s.svc_membership()
                    .deactivate_member(pb::DeactivateMemberRequest {
                        organization_id: org.clone(),
                        identity_id: watcher.clone(),
                        ..Default::default()
                    })
                    .await
                    .expect("deactivate");
            }
            Loss::Removed => {
                s.svc_membership()
                    .remove_member(pb::RemoveMemberRequest {
                        request_id: String::new(),
                        organization_id: org.clone(),
                        identity_id: watcher.clone(),
                        successor_identity_id: String::new(),
                        etag: String::new(),
                    })
                    .await
                    .expect("remove");
            }
            Loss::SignedOut => {
                s.identity(Some(&token))
                    .sign_out(pb::SignOutRequest {
                        request_id: String::new(),
                        session_token: String::new(),
                    })
                    .await
                    .expect("sign out");
            }
            Loss::Revoked => {
                s.identity(Some(&token))
                    .revoke_identity(pb::RevokeIdentityRequest {
                        request_id: String::new(),
                        identity_id: watcher.clone(),
                        revocation_password: String::new(),
                        package_id: String::new(),
                    })
                    .await
                    .expect("revoke");
            }
            Loss::DroppedAsPackageAdmin => {
                s.svc_license()
                    .update_license_package(pb::UpdateLicensePackageRequest {
                        request_id: String::new(),
                        license_package: Some(pb::LicensePackage {
                            package_id: package.clone(),
                            admin_identity_ids: vec![admin.clone()],
                            ..Default::default()
                        }),
                        update_mask: Some(prost_types::FieldMask {
                            paths: vec!["admin_identity_ids".into()],
                        }),
                    })
                    .await
                    .expect("drop package admin");
            }
            Loss::CredentialDeleted => {
                s.svc_license()
                    .delete_credential(pb::DeleteCredentialRequest {
                        request_id: String::new(),
                        credential_id: credential.clone(),
                    })
                    .await
                    .expect("delete credential");
            }
        }
        // The next events in scope: a new member (organization) and a new
        // credential (package), committed after the loss.
        let newcomer = s.create_identity(&format!("Newcomer{n}")).await;
        s.add_member(&org, &newcomer, pb::MemberRole::Member).await;
        s.issue_credential(&package, &format!("after-{n}-{}", newcomer.to_lowercase()))
            .await;

        let status = loop {
            match tokio::time::timeout(Duration::from_secs(8), stream.message()).await {
                Err(_) => panic!("{loss:?}: stream still open"),
                Ok(Err(status)) => break status,
                Ok(Ok(None)) => panic!("{loss:?}: stream closed without a status"),
                Ok(Ok(Some(msg))) => {
                    if let Some(e) = msg.event {
                        let after = e.subject_id == newcomer
                            || e.identity_id == newcomer
                            || e.r#type == pb::EventType::CredentialIssued as i32;
                        assert!(!after, "{loss:?}: delivered {e:?} after the loss");
                    }
                }
            }
        };
        let expected = match loss {
            Loss::SignedOut | Loss::Revoked | Loss::CredentialDeleted => Code::Unauthenticated,
            _ => Code::PermissionDenied,
        };
        assert_eq!(status.code(), expected, "{loss:?}: {status:?}");
        println!("{loss:?}: stream ended after {:?}", started.elapsed());
        ended += 1;
    }
    assert_eq!(ended, cases.len());
}
