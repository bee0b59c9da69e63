//! The `filter` subset of RFC 7644 §3.4.2.2 Roster evaluates: comparisons
//! `attr eq "value"` on userName, externalId, emails.value (or emails) and
//! id for Users, displayName and id for Groups, joined by `and` — what Okta and Entra send. Everything else is
//! 400 invalidFilter. Attribute names and operators without case; an
//! attribute may carry the User schema URN.

use crate::domain::ScimUserFilter;

/// Longest filter accepted.
const MAX_FILTER: usize = 1024;

/// Parsed filter; `None` values: no condition. `Err`: the detail of an
/// invalidFilter.
pub(crate) fn parse(raw: &str) -> Result<Option<ScimUserFilter>, String> {
    let Some(conds) = parse_eq(
        raw,
        "urn:ietf:params:scim:schemas:core:2.0:User:",
        &["username", "externalid", "emails.value", "emails", "id"],
        "userName, externalId, emails.value, id",
    )?
    else {
        return Ok(None);
    };
    let mut filter = ScimUserFilter::default();
    for (attr, value) in conds {
        match attr.as_str() {
            "username" => filter.user_name = Some(value),
            "externalid" => filter.external_id = Some(value),
            "id" => filter.identity_id = Some(value),
            _ => filter.email = Some(value),
        }
    }
    Ok(Some(filter))
}

/// A Group filter: (displayName, id, externalId) conditions.
pub(crate) type GroupFilter = (Option<String>, Option<String>, Option<String>);

/// The Group filter (`displayName eq`, `id eq`, `externalId eq`, `and`); `None`: nothing
/// can match.
pub(crate) fn parse_groups(raw: &str) -> Result<Option<GroupFilter>, String> {
    let Some(conds) = parse_eq(
        raw,
        "urn:ietf:params:scim:schemas:core:2.0:Group:",
        &["displayname", "id", "externalid"],
        "displayName, id, externalId",
    )?
    else {
        return Ok(None);
    };
    let mut filter: GroupFilter = (None, None, None);
    for (attr, value) in conds {
        match attr.as_str() {
            "displayname" => filter.0 = Some(value),
            "externalid" => filter.2 = Some(value),
            _ => filter.1 = Some(value),
        }
    }
    Ok(Some(filter))
}

/// `attr eq "value" [and …]` over the `allowed` attributes (lower case,
/// `emails` standing for `emails.value`). One condition per attribute;
/// `None` when the same attribute is asked to equal two values.
fn parse_eq(
    raw: &str,
    urn: &str,
    allowed: &[&str],
    names: &str,
) -> Result<Option<Vec<(String, String)>>, String> {
    if raw.len() > MAX_FILTER {
        return Err(format!("the filter is longer than {MAX_FILTER} bytes"));
    }
    let mut tokens = Lexer { s: raw, pos: 0 };
    let mut conds: Vec<(String, String)> = Vec::new();
    let mut impossible = false;
    loop {
        let attr = tokens
            .word()?
            .ok_or_else(|| "expected an attribute name".to_owned())?;
        let op = tokens
            .word()?
            .ok_or_else(|| format!("expected an operator after {attr}"))?;
        if !op.eq_ignore_ascii_case("eq") {
            return Err(format!(
                "operator {op:?} is not supported (only eq, joined by and)"
            ));
        }
        let value = tokens.string()?;
        let lower = attr.to_ascii_lowercase();
        let mut name = lower
            .strip_prefix(&urn.to_ascii_lowercase())
            .unwrap_or(&lower)
            .to_owned();
        if !allowed.contains(&name.as_str()) {
            return Err(format!("filtering on {attr:?} is not supported ({names})"));
        }
        if name == "emails" {
            name = "emails.value".to_owned();
        }
        match conds.iter().find(|(a, _)| *a == name) {
            Some((_, existing)) if !existing.eq_ignore_ascii_case(&value) => impossible = true,
            Some(_) => {}
            None => conds.push((name, value)),
        }
        match tokens.word()? {
            None => break,
            Some(w) if w.eq_ignore_ascii_case("and") => continue,
            Some(w) => {
                return Err(format!(
                    "{w:?} is not supported here (only and joins comparisons)"
                ));
            }
        }
    }
    Ok((!impossible).then_some(conds))
}

struct Lexer<'a> {
    s: &'a str,
    pos: usize,
}

impl Lexer<'_> {
    fn skip_space(&mut self) {
        while self.s[self.pos..].starts_with(' ') {
            self.pos += 1;
        }
    }

    /// A bare word (attribute path, operator), or None at the end.
    fn word(&mut self) -> Result<Option<String>, String> {
        self.skip_space();
        let rest = &self.s[self.pos..];
        if rest.is_empty() {
            return Ok(None);
        }
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || ".:_-$".contains(c)))
            .unwrap_or(rest.len());
        if end == 0 {
            let c = rest.chars().next().unwrap_or(' ');
            return Err(format!(
                "unexpected {c:?} (grouping, [ ] and not are not supported)"
            ));
        }
        self.pos += end;
        Ok(Some(rest[..end].to_owned()))
    }

    /// A JSON string literal.
    fn string(&mut self) -> Result<String, String> {
        self.skip_space();
        let rest = &self.s[self.pos..];
        if !rest.starts_with('"') {
            return Err("expected a quoted string value".to_owned());
        }
        let mut escaped = false;
        for (i, c) in rest.char_indices().skip(1) {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                let literal = &rest[..=i];
                self.pos += i + 1;
                return serde_json::from_str::<String>(literal)
                    .map_err(|e| format!("bad string value: {e}"));
            }
        }
        Err("unterminated string value".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eq_and_and_parse() {
        let f = parse(r#"userName eq "a@b.c""#).unwrap().unwrap();
        assert_eq!(f.user_name.as_deref(), Some("a@b.c"));
        let f = parse(r#"externalId eq "x\"y" AND emails.value Eq "E@x.org""#)
            .unwrap()
            .unwrap();
        assert_eq!(f.external_id.as_deref(), Some("x\"y"));
        assert_eq!(f.email.as_deref(), Some("E@x.org"));
        let f = parse(r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "u""#)
            .unwrap()
            .unwrap();
        assert_eq!(f.user_name.as_deref(), Some("u"));
        assert_eq!(
            parse(r#"userName eq "a" and userName eq "b""#).unwrap(),
            None
        );
    }

    #[test]
    fn everything_else_is_refused() {
        for bad in [
            r#"userName co "a""#,
            r#"userName eq "a" or userName eq "b""#,
            r#"(userName eq "a")"#,
            r#"title eq "a""#,
            r#"userName eq a"#,
            r#"userName eq "a"#,
            r#"userName pr"#,
            r#"not (userName eq "a")"#,
            r#"emails[type eq "work"].value eq "a""#,
            "",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert!(parse(&"a".repeat(2000)).is_err());
        assert!(parse_groups(r#"members eq "x""#).is_err());
        assert_eq!(
            parse_groups(r#"displayName eq "Ops""#).unwrap(),
            Some((Some("Ops".to_owned()), None, None))
        );
    }
}
