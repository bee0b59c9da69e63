//! `events` table.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i64,
    pub event_type: String,
    pub actor_kind: String,
    pub actor_id: String,
    pub subject_id: String,
    pub reason: String,
    pub occurred_at: i64,
    pub identity_id: Option<String>,
    pub organization_id: Option<String>,
    pub package_id: Option<String>,
    pub room_id: Option<String>,
    pub credential_id: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub attributes: String,
}

impl ActiveModelBehavior for ActiveModel {}
