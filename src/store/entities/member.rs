//! `members` table.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "members")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub organization_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub identity_id: String,
    pub package_id: String,
    pub role: String,
    pub state: String,
    pub joined_at: i64,
    pub last_activity_at: i64,
    pub deactivation_reason: Option<String>,
    pub deactivation_note: Option<String>,
    pub expected_return_at: Option<i64>,
    pub deactivated_at: Option<i64>,
    pub deactivated_by: Option<String>,
    /// Random, drawn each time the identity joins; assignments hold it.
    pub tenure: i64,
}

impl ActiveModelBehavior for ActiveModel {}
