//! M2, M7, I4: revoking an organization's last admin (themselves, or by an
//! ENTERPRISE package admin) must stay possible and must not leave an
//! organization nobody can manage: while it has no active admin, the
//! admins of its license package act as its admins, may appoint a new one
//! and give rooms without a room admin one. Once it has an admin again,
//! that stand-in right ends.

use roster::pb;
use tonic::Code;

use crate::db_tests;
use crate::harness::{Backend, TestServer, assert_status};

db_tests!(m2_package_admins_recover_an_organization_whose_last_admin_was_revoked);

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
