//! `assignments` table.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "assignments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub organization_id: String,
    pub room_id: String,
    pub kind: String,
    pub title: String,
    pub created_at: i64,
    /// Assigned to this identity, but only while its membership has
    /// `assignee_tenure` (see the assignee-tenure migration).
    pub assignee_id: Option<String>,
    pub assignee_tenure: Option<i64>,
}

impl ActiveModelBehavior for ActiveModel {}
