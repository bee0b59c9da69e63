//! `assignment_assignees` table.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "assignment_assignees")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub organization_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub assignee_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub assignment_id: String,
    pub room_id: String,
}

impl ActiveModelBehavior for ActiveModel {}
