//! `organizations` table.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "organizations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub display_name: String,
    pub package_id: String,
    pub parent_id: Option<String>,
    pub guest_inactivity_ms: Option<i64>,
    /// W6: how long a removal can be undone; 0 = never.
    pub removal_undo_window_ms: i64,
    pub created_at: i64,
}

impl ActiveModelBehavior for ActiveModel {}
