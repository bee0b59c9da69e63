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
}

impl ActiveModelBehavior for ActiveModel {}
