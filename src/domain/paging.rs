//! Keyset pagination shared by every List RPC. The store sees only the key
//! to continue after; the gRPC layer turns it into an opaque page token.

/// A page request: at most `size` items strictly after `after`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// Items per page (already clamped to 1..=1000).
    pub size: u64,
    /// Sort key of the last item of the previous page.
    pub after: Option<String>,
}

/// One page of results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Key to continue after, when more items may follow.
    pub next: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `size + 1` fetched rows: the extra row only
    /// signals that another page exists.
    pub fn from_overfetch(mut rows: Vec<T>, size: u64, key: impl Fn(&T) -> String) -> Self {
        let more = rows.len() as u64 > size;
        rows.truncate(size as usize);
        let next = if more { rows.last().map(&key) } else { None };
        Page { items: rows, next }
    }
}
