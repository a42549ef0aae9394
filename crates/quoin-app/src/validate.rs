//! Small parsers that turn raw request values into domain values, naming the field on error.

use jiff::tz::TimeZone;
use quoin_core::money::Currency;
use rust_decimal::Decimal;
use std::str::FromStr;

use crate::error::{AppError, AppResult};

pub(crate) fn currency(field: &str, code: &str) -> AppResult<Currency> {
    Currency::parse(code).map_err(|e| AppError::invalid(field, e.to_string()))
}

pub(crate) fn time_zone(field: &str, name: &str) -> AppResult<TimeZone> {
    TimeZone::get(name).map_err(|_| {
        AppError::invalid(
            field,
            format!("unknown time zone `{name}` (expected an IANA name such as Europe/Berlin)"),
        )
    })
}

/// A decimal written as a string ("24.95"); exponents and floats are refused.
pub(crate) fn decimal(field: &str, text: &str) -> AppResult<Decimal> {
    let plain = text.trim();
    let digits = plain.strip_prefix(['-', '+']).unwrap_or(plain);
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err(AppError::invalid(
            field,
            format!("`{text}` is not a decimal number such as \"24.95\""),
        ));
    }
    Decimal::from_str(plain).map_err(|_| {
        AppError::invalid(
            field,
            format!("`{text}` is not a decimal number such as \"24.95\""),
        )
    })
}

/// Largest quantity accepted (a trillion units): far above any real order, far below
/// where arithmetic on prices could overflow.
const MAX_QUANTITY: Decimal = Decimal::from_parts(3_567_587_328, 232, 0, false, 0);

pub(crate) fn positive_decimal(field: &str, text: &str) -> AppResult<Decimal> {
    let d = decimal(field, text)?;
    if d <= Decimal::ZERO {
        return Err(AppError::invalid(
            field,
            format!("must be greater than zero, got {text}"),
        ));
    }
    if d > MAX_QUANTITY || d.normalize().scale() > 10 {
        return Err(AppError::invalid(
            field,
            format!("must be at most 1000000000000 with at most 10 decimal places, got {text}"),
        ));
    }
    Ok(d.normalize())
}

/// A decimal of at least zero (negotiated prices may be free), same bounds as quantities.
pub(crate) fn non_negative_decimal(field: &str, text: &str) -> AppResult<Decimal> {
    let d = decimal(field, text)?;
    if d.is_sign_negative() && !d.is_zero() {
        return Err(AppError::invalid(
            field,
            format!("must not be negative, got {text}"),
        ));
    }
    if d > MAX_QUANTITY || d.normalize().scale() > 10 {
        return Err(AppError::invalid(
            field,
            format!("must be at most 1000000000000 with at most 10 decimal places, got {text}"),
        ));
    }
    Ok(d.normalize())
}

/// Trimmed, non-empty, at most `max` characters.
pub(crate) fn text(field: &str, value: &str, max: usize) -> AppResult<String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(AppError::invalid(field, "must not be empty"));
    }
    if v.chars().count() > max {
        return Err(AppError::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(v.to_string())
}

pub(crate) fn optional_text(
    field: &str,
    value: &Option<String>,
    max: usize,
) -> AppResult<Option<String>> {
    value.as_deref().map(|v| text(field, v, max)).transpose()
}

pub(crate) fn email(field: &str, value: &Option<String>) -> AppResult<Option<String>> {
    let Some(v) = optional_text(field, value, 254)? else {
        return Ok(None);
    };
    match v.split_once('@') {
        Some((local, domain)) if !local.is_empty() && domain.contains('.') && !v.contains(' ') => {
            Ok(Some(v))
        }
        _ => Err(AppError::invalid(
            field,
            format!("`{v}` is not an email address"),
        )),
    }
}

/// Codes and external ids: letters, digits, `-`, `_`, `.`; 1–64 characters.
pub(crate) fn code(field: &str, value: &str) -> AppResult<String> {
    let v = text(field, value, 64)?;
    if v.chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        Ok(v)
    } else {
        Err(AppError::invalid(
            field,
            "may contain only letters, digits, '-', '_' and '.'",
        ))
    }
}

/// Appends the Luhn check digit, so a mistyped account number is caught at once.
pub(crate) fn with_luhn(digits: &str) -> String {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    format!("{digits}{}", (10 - sum % 10) % 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_matches_the_textbook_example() {
        assert_eq!(with_luhn("7992739871"), "79927398713");
    }

    #[test]
    fn decimals_and_texts() {
        assert_eq!(
            positive_decimal("a", "24.950").unwrap().to_string(),
            "24.95"
        );
        assert!(positive_decimal("a", "-1").is_err());
        assert!(decimal("a", "1e3").is_err());
        assert!(positive_decimal("q", "0").is_err());
        assert_eq!(MAX_QUANTITY.to_string(), "1000000000000");
        assert!(positive_decimal("q", "1000000000000").is_ok());
        assert!(positive_decimal("q", "1000000000000.5").is_err());
        assert!(positive_decimal("q", "0.00000000001").is_err());
        assert!(text("n", "  ", 10).is_err());
        assert!(email("e", &Some("x@y".into())).is_err());
        assert!(code("c", "fiber 100").is_err());
    }
}
