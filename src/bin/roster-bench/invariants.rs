//! What the store keeps true of its tables, checked by SQL after the bulk
//! seed: the seed writes the tables directly, so a schema or rule change
//! that it does not follow fails the benchmark here, loudly, instead of
//! measuring a state the service could never be in.

use anyhow::{Context, Result, bail};
use sea_orm::{ConnectionTrait, DatabaseConnection};

/// One rule: `sql` counts (as `n`) the rows that break it.
struct Invariant {
    rule: &'static str,
    sql: &'static str,
}

/// The rules of `store::seats` (L6), `store::membership` (M2, M6, M7) and
/// the tenure design (ARCHITECTURE.md), plus the references the schema
/// does not enforce (it has no foreign keys).
const INVARIANTS: &[Invariant] = &[
    Invariant {
        rule: "license_packages.seats_used equals the package's attachments (L6)",
        sql: "SELECT COUNT(*) AS n FROM license_packages p \
              WHERE p.seats_used <> (SELECT COUNT(*) FROM attachments a WHERE a.package_id = p.id)",
    },
    Invariant {
        rule: "0 <= seats_used <= seat_limit (L6)",
        sql: "SELECT COUNT(*) AS n FROM license_packages \
              WHERE seats_used < 0 OR seats_used > seat_limit",
    },
    Invariant {
        rule: "every organization has an ACTIVE ADMIN (M2)",
        sql: "SELECT COUNT(*) AS n FROM organizations o WHERE NOT EXISTS \
              (SELECT 1 FROM members m WHERE m.organization_id = o.id \
               AND m.role = 'ADMIN' AND m.state = 'ACTIVE')",
    },
    Invariant {
        rule: "every organization is bound to an existing license package",
        sql: "SELECT COUNT(*) AS n FROM organizations o WHERE NOT EXISTS \
              (SELECT 1 FROM license_packages p WHERE p.id = o.package_id)",
    },
    Invariant {
        rule: "members.package_id is its organization's package",
        sql: "SELECT COUNT(*) AS n FROM members m WHERE NOT EXISTS \
              (SELECT 1 FROM organizations o WHERE o.id = m.organization_id \
               AND o.package_id = m.package_id)",
    },
    Invariant {
        rule: "members are existing ACTIVE identities",
        sql: "SELECT COUNT(*) AS n FROM members m WHERE NOT EXISTS \
              (SELECT 1 FROM identities i WHERE i.id = m.identity_id AND i.state = 'ACTIVE')",
    },
    Invariant {
        rule: "members have a known role and state",
        sql: "SELECT COUNT(*) AS n FROM members \
              WHERE role NOT IN ('ADMIN', 'MEMBER', 'GUEST') \
              OR state NOT IN ('ACTIVE', 'DEACTIVATED')",
    },
    Invariant {
        rule: "an ACTIVE member holds a seat in its package (L6, the enterprise rule)",
        sql: "SELECT COUNT(*) AS n FROM members m WHERE m.state = 'ACTIVE' AND NOT EXISTS \
              (SELECT 1 FROM attachments a WHERE a.package_id = m.package_id \
               AND a.identity_id = m.identity_id)",
    },
    Invariant {
        rule: "a seat not held by sign-in is held by an ACTIVE membership (else released, L6)",
        sql: "SELECT COUNT(*) AS n FROM attachments a WHERE NOT a.signed_in AND NOT EXISTS \
              (SELECT 1 FROM members m WHERE m.package_id = a.package_id \
               AND m.identity_id = a.identity_id AND m.state = 'ACTIVE')",
    },
    Invariant {
        rule: "attachments are of existing identities, with a known method",
        sql: "SELECT COUNT(*) AS n FROM attachments a \
              WHERE a.method NOT IN ('SIGN_IN', 'MEMBERSHIP') OR NOT EXISTS \
              (SELECT 1 FROM identities i WHERE i.id = a.identity_id)",
    },
    Invariant {
        rule: "room members are members of the room's organization (M6)",
        sql: "SELECT COUNT(*) AS n FROM room_members rm \
              WHERE rm.role NOT IN ('ADMIN', 'MEMBER') \
              OR NOT EXISTS (SELECT 1 FROM rooms r WHERE r.id = rm.room_id \
                             AND r.organization_id = rm.organization_id) \
              OR NOT EXISTS (SELECT 1 FROM members m WHERE m.organization_id = rm.organization_id \
                             AND m.identity_id = rm.identity_id)",
    },
    Invariant {
        rule: "every room has a room ADMIN who is an ACTIVE member of its organization (M7)",
        sql: "SELECT COUNT(*) AS n FROM rooms r WHERE NOT EXISTS \
              (SELECT 1 FROM room_members rm JOIN members m \
                 ON m.organization_id = rm.organization_id AND m.identity_id = rm.identity_id \
               WHERE rm.room_id = r.id AND rm.role = 'ADMIN' AND m.state = 'ACTIVE')",
    },
    Invariant {
        rule: "assignments are in a room of their organization",
        sql: "SELECT COUNT(*) AS n FROM assignments a WHERE NOT EXISTS \
              (SELECT 1 FROM rooms r WHERE r.id = a.room_id AND r.organization_id = a.organization_id)",
    },
];

/// Not a rule of the store (an assignment whose tenure ended is simply
/// unassigned, as the removals the bench runs leave them) but what the
/// seed means: every seeded assignment is held by its assignee's current
/// tenure. Catches a changed tenure default.
const SEEDED: &[Invariant] = &[Invariant {
    rule: "every seeded assignment is held by a member with the recorded tenure",
    sql: "SELECT COUNT(*) AS n FROM assignments a WHERE NOT EXISTS \
              (SELECT 1 FROM members m WHERE m.organization_id = a.organization_id \
               AND m.identity_id = a.assignee_id AND m.tenure = a.assignee_tenure)",
}];

/// Runs every rule against `db` (`seeded`: with the seed's own, right
/// after the bulk inserts, before the database is settled — VACUUM
/// ANALYZE, checkpoint — so the settled state is as before); fails naming
/// each broken one and how many rows break it.
pub async fn check(db: &DatabaseConnection, seeded: bool) -> Result<()> {
    let backend = db.get_database_backend();
    let mut broken = Vec::new();
    let seed_rules = if seeded { SEEDED } else { &[] };
    for inv in INVARIANTS.iter().chain(seed_rules) {
        let row = db
            .query_one_raw(roster::store::statement(backend, inv.sql, vec![]))
            .await
            .with_context(|| format!("checking: {}", inv.rule))?
            .context("a COUNT query returned no row")?;
        let n: i64 = row.try_get("", "n")?;
        if n != 0 {
            broken.push(format!("{} ({n} rows break it)", inv.rule));
        }
    }
    // One line: it also lands in the table's FAILED row.
    if !broken.is_empty() {
        bail!(
            "the data breaks the store's invariants: {}",
            broken.join("; ")
        );
    }
    Ok(())
}
