//! Checks vtiger does not make but a careful server must (README: "Checks
//! that are ours").
use crate::error::WsError;
use crate::registry::{FieldDef, FieldType};

/// Checks vtiger does not make but a careful server must: a value that
/// would be stored mangled (vtiger turns `12abc` into 12, `2026-13-45` into
/// a zero date) or not fit is refused with the field named, nothing saved.
pub(super) fn check_value(f: &FieldDef, text: &str) -> Result<(), WsError> {
    let invalid = |what: &str| {
        WsError::InvalidFieldValue(format!("Invalid value specified for {}: {what}", f.name))
    };
    let limit = f.max_length.unwrap_or(match f.kind {
        FieldType::Text | FieldType::Multipicklist => 65_535,
        _ => 255,
    });
    if text.chars().count() > limit {
        return Err(invalid(&format!("longer than {limit} characters")));
    }
    if text.is_empty() {
        return Ok(());
    }
    let t = text.trim();
    let ok = match f.kind {
        FieldType::Integer => t.parse::<i64>().is_ok(),
        FieldType::Double | FieldType::Decimal | FieldType::Currency => is_decimal(t),
        FieldType::Boolean => ["0", "1", "true", "false", "on", "off", "yes", "no"]
            .contains(&t.to_ascii_lowercase().as_str()),
        FieldType::Date => chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d").is_ok(),
        FieldType::Datetime => ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"]
            .iter()
            .any(|fmt| chrono::NaiveDateTime::parse_from_str(t, fmt).is_ok()),
        FieldType::Time => ["%H:%M:%S", "%H:%M"]
            .iter()
            .any(|fmt| chrono::NaiveTime::parse_from_str(t, fmt).is_ok()),
        FieldType::Email => is_email(t),
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(invalid(match f.kind {
            FieldType::Integer => "expected a whole number",
            FieldType::Double | FieldType::Decimal | FieldType::Currency => {
                "expected a decimal number like 1500.25"
            }
            FieldType::Boolean => "expected 0 or 1",
            FieldType::Date => "expected a date as yyyy-mm-dd",
            FieldType::Datetime => "expected a date and time as yyyy-mm-dd hh:mm:ss",
            FieldType::Time => "expected a time as hh:mm:ss",
            _ => "expected an email address",
        }))
    }
}

fn is_decimal(t: &str) -> bool {
    let digits = t.strip_prefix('-').unwrap_or(t);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, "0"));
    !int.is_empty()
        && !frac.is_empty()
        && int.len() <= 17
        && frac.len() <= 8
        && (int.bytes().chain(frac.bytes())).all(|b| b.is_ascii_digit())
}

fn is_email(t: &str) -> bool {
    match t.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !t.contains(char::is_whitespace)
                && !domain.contains('@')
        }
        None => false,
    }
}

pub(super) fn boolean(text: Option<&str>) -> &'static str {
    match text.map(|t| t.trim().to_ascii_lowercase()) {
        Some(t) if ["1", "true", "on", "yes"].contains(&t.as_str()) => "1",
        _ => "0",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_and_email_shapes() {
        for good in [
            "0",
            "-1",
            "1500.25",
            "99999.50",
            "12345678901234567.12345678",
        ] {
            assert!(is_decimal(good), "{good}");
        }
        for bad in [
            "",
            "-",
            "1.",
            ".5",
            "1,5",
            "1e5",
            "abc",
            "1.123456789",
            "123456789012345678",
        ] {
            assert!(!is_decimal(bad), "{bad}");
        }
        assert!(is_email("a.b@example.com"));
        for bad in [
            "not-an-email",
            "a@b",
            "@b.com",
            "a b@c.com",
            "a@b@c.com",
            "a@.com",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }
}
