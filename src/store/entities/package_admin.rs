//! `package_admins` table.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "package_admins")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub package_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub identity_id: String,
}

impl ActiveModelBehavior for ActiveModel {}
