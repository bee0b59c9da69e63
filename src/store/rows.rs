//! Row helpers shared by the store's raw-SQL queries: fetch rows, one row,
//! a count, a keyset page.

use sea_orm::{ConnectionTrait, QueryResult, Value};

use super::statement;
use crate::domain::{Page, PageRequest, Result};

/// Largest number of values bound in one `IN (…)` list of a bulk statement.
pub(super) const CHUNK: usize = 500;

pub(super) async fn rows<C: ConnectionTrait>(
    c: &C,
    sql: &str,
    values: Vec<Value>,
) -> Result<Vec<QueryResult>> {
    Ok(
        c.query_all_raw(statement(c.get_database_backend(), sql, values))
            .await?,
    )
}

/// Runs `sql` (a SELECT whose WHERE clause is open for more conditions) as
/// one keyset page ordered by `key_col`: continues after `page.after`,
/// over-fetches one row to know whether another page follows.
pub(super) async fn keyset_page<C: ConnectionTrait, T>(
    c: &C,
    mut sql: String,
    mut values: Vec<Value>,
    key_col: &str,
    page: &PageRequest,
    from_row: fn(&QueryResult) -> Result<T>,
    key: fn(&T) -> String,
) -> Result<Page<T>> {
    if let Some(after) = &page.after {
        sql.push_str(&format!(" AND {key_col} > ?"));
        values.push(after.clone().into());
    }
    sql.push_str(&format!(" ORDER BY {key_col} LIMIT ?"));
    values.push(((page.size + 1) as i64).into());
    let items = rows(c, &sql, values)
        .await?
        .iter()
        .map(from_row)
        .collect::<Result<Vec<_>>>()?;
    Ok(Page::from_overfetch(items, page.size, key))
}

pub(super) async fn one<C: ConnectionTrait>(
    c: &C,
    sql: &str,
    values: Vec<Value>,
) -> Result<Option<QueryResult>> {
    Ok(
        c.query_one_raw(statement(c.get_database_backend(), sql, values))
            .await?,
    )
}

pub(super) async fn count<C: ConnectionTrait>(c: &C, sql: &str, values: Vec<Value>) -> Result<u64> {
    let n: i64 = match one(c, sql, values).await? {
        Some(r) => r.try_get("", "n")?,
        None => 0,
    };
    Ok(n.max(0) as u64)
}
