//! Input rules shared by every service: lengths, formats, paging. Each check
//! returns the violations it found so a request reports all of them at once.

use super::error::{Error, FieldViolation, Result};
use super::ids::IdError;

/// Default page size of List RPCs.
pub const DEFAULT_PAGE_SIZE: u64 = 50;
/// Largest page size of List RPCs.
pub const MAX_PAGE_SIZE: u64 = 1000;
/// Largest number of IDs in one batch call.
pub const MAX_BATCH: usize = 1000;
/// Most paths in one `update_mask` (no resource has more fields).
pub const MAX_MASK_PATHS: usize = 16;

/// Collects field violations of one request.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    /// An empty collection.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a violation.
    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(FieldViolation::new(field, description));
    }

    /// Runs an ID parser, recording its error against `field`.
    pub fn id<T>(&mut self, field: &str, parsed: std::result::Result<T, IdError>) -> Option<T> {
        match parsed {
            Ok(v) => Some(v),
            Err(e) => {
                self.add(field, e.to_string());
                None
            }
        }
    }

    /// Like [`Violations::id`] but an empty value is allowed (`None`).
    pub fn optional_id<T>(
        &mut self,
        field: &str,
        raw: &str,
        parse: impl FnOnce(&str) -> std::result::Result<T, IdError>,
    ) -> Option<T> {
        if raw.is_empty() {
            None
        } else {
            self.id(field, parse(raw))
        }
    }

    /// `Ok(())` when nothing was recorded, else INVALID_ARGUMENT.
    pub fn finish(self) -> Result<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Error::InvalidArgument(self.0))
        }
    }

    /// Whether anything was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Checks a required display name: 1 to `max` characters after trimming,
/// no control characters. Returns the trimmed value.
pub fn display_name(v: &mut Violations, field: &str, raw: &str, max: usize) -> String {
    let trimmed = raw.trim();
    let chars = trimmed.chars().count();
    if chars == 0 {
        v.add(field, "is required");
    } else if chars > max {
        v.add(field, format!("must be at most {max} characters"));
    } else if trimmed.chars().any(char::is_control) {
        v.add(field, "must not contain control characters");
    }
    trimmed.to_owned()
}

/// Checks an optional free-text note (at most `max` characters).
pub fn note(v: &mut Violations, field: &str, raw: &str, max: usize) -> String {
    if raw.chars().count() > max {
        v.add(field, format!("must be at most {max} characters"));
    }
    raw.trim().to_owned()
}

/// Checks an optional e-mail address (shape only: `local@domain`, ≤ 254).
pub fn email(v: &mut Violations, field: &str, raw: &str) -> Option<String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    let ok = raw.len() <= 254
        && raw.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !raw.chars().any(|c| c.is_whitespace() || c.is_control())
                && !domain.contains('@')
        });
    if !ok {
        v.add(field, "must be an e-mail address of at most 254 characters");
    }
    Some(raw.to_owned())
}

/// Checks an optional http(s) URL of at most 2048 characters.
pub fn url(v: &mut Violations, field: &str, raw: &str) -> Option<String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    let ok = raw.len() <= 2048
        && (raw.starts_with("https://") || raw.starts_with("http://"))
        && raw
            .split_once("://")
            .is_some_and(|(_, rest)| !rest.is_empty())
        && !raw.chars().any(|c| c.is_whitespace() || c.is_control());
    if !ok {
        v.add(field, "must be an http(s) URL of at most 2048 characters");
    }
    Some(raw.to_owned())
}

/// Checks a password's length (`min..=max` characters).
pub fn password(v: &mut Violations, field: &str, raw: &str, min: usize, max: usize) {
    let n = raw.chars().count();
    if n < min || n > max {
        v.add(field, format!("must be {min} to {max} characters"));
    }
}

/// Checks a credential username: 3 to 64 characters `[a-z0-9._@-]`.
pub fn username(v: &mut Violations, field: &str, raw: &str) {
    let ok = (3..=64).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._@-".contains(&b));
    if !ok {
        v.add(
            field,
            "must be 3 to 64 characters a-z, 0-9, '.', '_', '@' or '-'",
        );
    }
}

/// Resolves `page_size`: 0 means the default, negative is refused, larger
/// than the maximum is clamped (AIP-158).
pub fn page_size(v: &mut Violations, raw: i32) -> u64 {
    if raw < 0 {
        v.add("page_size", "must not be negative");
        DEFAULT_PAGE_SIZE
    } else if raw == 0 {
        DEFAULT_PAGE_SIZE
    } else {
        (raw as u64).min(MAX_PAGE_SIZE)
    }
}

/// Checks the size of a batch of IDs; false when it is too large to look
/// at its entries (V1: no per-entry work past the documented maximum).
pub fn batch_len(v: &mut Violations, field: &str, len: usize) -> bool {
    if len == 0 {
        v.add(field, "must not be empty");
    } else if len > MAX_BATCH {
        v.add(field, format!("must hold at most {MAX_BATCH} entries"));
        return false;
    }
    true
}

/// Parses a batch of IDs (1 to [`MAX_BATCH`]), each violation naming its
/// index. An oversized batch is refused without parsing its entries.
pub fn batch_ids<T>(
    v: &mut Violations,
    field: &str,
    raw: &[String],
    parse: impl Fn(&str) -> std::result::Result<T, IdError>,
) -> Vec<T> {
    if !batch_len(v, field, raw.len()) {
        return Vec::new();
    }
    raw.iter()
        .enumerate()
        .filter_map(|(i, s)| v.id(&format!("{field}[{i}]"), parse(s)))
        .collect()
}

/// The paths of an `update_mask`, each with its index: at most
/// [`MAX_MASK_PATHS`] (more are refused without looking at them), none
/// named twice. Linear in the number of paths.
pub fn mask_paths<'a>(v: &mut Violations, paths: &'a [String]) -> Vec<(usize, &'a str)> {
    if paths.len() > MAX_MASK_PATHS {
        v.add(
            "update_mask.paths",
            format!("must name at most {MAX_MASK_PATHS} paths"),
        );
        return Vec::new();
    }
    let mut seen = std::collections::HashSet::with_capacity(paths.len());
    let mut out = Vec::with_capacity(paths.len());
    for (i, p) in paths.iter().enumerate() {
        if seen.insert(p.as_str()) {
            out.push((i, p.as_str()));
        } else {
            v.add(format!("update_mask.paths[{i}]"), "is named twice");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_shapes() {
        let mut v = Violations::new();
        email(&mut v, "e", "a@b.de");
        email(&mut v, "e", "");
        assert!(v.is_empty());
        for bad in ["a", "@b.de", "a@b", "a b@c.de", "a@.de", "a@b.de."] {
            let mut v = Violations::new();
            email(&mut v, "e", bad);
            assert!(!v.is_empty(), "{bad} accepted");
        }
    }

    #[test]
    fn mask_paths_refuses_duplicates_and_floods() {
        let mut v = Violations::new();
        let paths: Vec<String> = ["a", "b", "a"].map(String::from).to_vec();
        assert_eq!(mask_paths(&mut v, &paths), vec![(0, "a"), (1, "b")]);
        assert!(!v.is_empty());
        let mut v = Violations::new();
        let flood = vec!["a".to_owned(); 8000];
        assert!(mask_paths(&mut v, &flood).is_empty());
        assert_eq!(v.0.len(), 1);
    }

    #[test]
    fn page_size_defaults_and_clamps() {
        let mut v = Violations::new();
        assert_eq!(page_size(&mut v, 0), DEFAULT_PAGE_SIZE);
        assert_eq!(page_size(&mut v, 5000), MAX_PAGE_SIZE);
        assert!(v.is_empty());
        page_size(&mut v, -1);
        assert!(!v.is_empty());
    }
}
