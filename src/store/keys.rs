//! Service keys kept in the database (hashes only): the bootstrap key of a
//! first start and keys minted with `roster create-service-key`.

use sea_orm::{EntityTrait, PaginatorTrait};

use super::Store;
use super::entities::service_key;
use crate::domain::{Actor, EventType, NewEvent, Result};

impl Store {
    /// Stores a new key's hash under `name`.
    pub async fn create_service_key(&self, name: &str, key_hash: &str) -> Result<()> {
        self.write(&Actor::system(), |mut txn| async move {
            service_key::Entity::insert(service_key::ActiveModel {
                key_hash: sea_orm::Set(key_hash.to_owned()),
                name: sea_orm::Set(name.to_owned()),
                created_at: sea_orm::Set(txn.now_ms()),
            })
            .exec(txn.conn())
            .await?;
            txn.emit(NewEvent::new(EventType::ServiceKeyCreated, name));
            Ok((txn, ()))
        })
        .await
    }

    /// How many keys the database holds.
    pub async fn count_service_keys(&self) -> Result<u64> {
        Ok(service_key::Entity::find().count(&self.db).await?)
    }

    /// The name of the stored key with this hash, if any.
    pub async fn service_key_name(&self, key_hash: &str) -> Result<Option<String>> {
        Ok(service_key::Entity::find_by_id(key_hash)
            .one(&self.db)
            .await?
            .map(|m| m.name))
    }
}
