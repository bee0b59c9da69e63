//! `sessions` table.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sessions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub token_hash: String,
    /// Public session ID. (Not named `id`: sea-orm derives `find_by_<col>`
    /// for unique columns, which would shadow `find_by_id`.)
    #[sea_orm(unique)]
    pub session_id: String,
    pub identity_id: String,
    pub package_id: String,
    pub credential_id: String,
    pub created_at: i64,
    pub expires_at: i64,
}

impl ActiveModelBehavior for ActiveModel {}
