//! Money as an integer count of minor units tagged with an ISO 4217 currency.
//!
//! Amounts are stored as `i64` minor units (cents, fils, yen) rather than as
//! decimals so that equality, hashing and summation are exact and cheap, and so
//! that an amount can never carry more precision than its currency can settle.
//! Decimals only appear at the edges: parsing prices, applying rates, display.
//! All arithmetic is checked; nothing here panics on overflow or silently wraps.

use std::fmt;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};

/// Everything that can go wrong when building or combining [`Money`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("unknown currency code `{0}` (expected an ISO 4217 code such as USD)")]
    UnknownCurrency(String),
    #[error("currency mismatch: {0} vs {1}")]
    CurrencyMismatch(Currency, Currency),
    #[error("amount overflow")]
    Overflow,
    #[error("amount {0} has more decimal places than {1} allows ({2})")]
    TooPrecise(Decimal, Currency, u32),
    #[error("cannot allocate: {0}")]
    InvalidAllocation(&'static str),
}

/// Active ISO 4217 codes with their minor-unit exponents.
///
/// Must stay sorted by code: lookups binary-search it, and `Currency`'s derived
/// `Ord` (by table index) relies on index order being code order. A unit test
/// checks both.
static CURRENCIES: &[(&str, u8)] = &[
    ("AED", 2),
    ("AFN", 2),
    ("ALL", 2),
    ("AMD", 2),
    ("ANG", 2),
    ("AOA", 2),
    ("ARS", 2),
    ("AUD", 2),
    ("AWG", 2),
    ("AZN", 2),
    ("BAM", 2),
    ("BBD", 2),
    ("BDT", 2),
    ("BGN", 2),
    ("BHD", 3),
    ("BIF", 0),
    ("BMD", 2),
    ("BND", 2),
    ("BOB", 2),
    ("BOV", 2),
    ("BRL", 2),
    ("BSD", 2),
    ("BTN", 2),
    ("BWP", 2),
    ("BYN", 2),
    ("BZD", 2),
    ("CAD", 2),
    ("CDF", 2),
    ("CHE", 2),
    ("CHF", 2),
    ("CHW", 2),
    ("CLF", 4),
    ("CLP", 0),
    ("CNY", 2),
    ("COP", 2),
    ("COU", 2),
    ("CRC", 2),
    ("CUP", 2),
    ("CVE", 2),
    ("CZK", 2),
    ("DJF", 0),
    ("DKK", 2),
    ("DOP", 2),
    ("DZD", 2),
    ("EGP", 2),
    ("ERN", 2),
    ("ETB", 2),
    ("EUR", 2),
    ("FJD", 2),
    ("FKP", 2),
    ("GBP", 2),
    ("GEL", 2),
    ("GHS", 2),
    ("GIP", 2),
    ("GMD", 2),
    ("GNF", 0),
    ("GTQ", 2),
    ("GYD", 2),
    ("HKD", 2),
    ("HNL", 2),
    ("HTG", 2),
    ("HUF", 2),
    ("IDR", 2),
    ("ILS", 2),
    ("INR", 2),
    ("IQD", 3),
    ("IRR", 2),
    ("ISK", 0),
    ("JMD", 2),
    ("JOD", 3),
    ("JPY", 0),
    ("KES", 2),
    ("KGS", 2),
    ("KHR", 2),
    ("KMF", 0),
    ("KPW", 2),
    ("KRW", 0),
    ("KWD", 3),
    ("KYD", 2),
    ("KZT", 2),
    ("LAK", 2),
    ("LBP", 2),
    ("LKR", 2),
    ("LRD", 2),
    ("LSL", 2),
    ("LYD", 3),
    ("MAD", 2),
    ("MDL", 2),
    ("MGA", 2),
    ("MKD", 2),
    ("MMK", 2),
    ("MNT", 2),
    ("MOP", 2),
    ("MRU", 2),
    ("MUR", 2),
    ("MVR", 2),
    ("MWK", 2),
    ("MXN", 2),
    ("MXV", 2),
    ("MYR", 2),
    ("MZN", 2),
    ("NAD", 2),
    ("NGN", 2),
    ("NIO", 2),
    ("NOK", 2),
    ("NPR", 2),
    ("NZD", 2),
    ("OMR", 3),
    ("PAB", 2),
    ("PEN", 2),
    ("PGK", 2),
    ("PHP", 2),
    ("PKR", 2),
    ("PLN", 2),
    ("PYG", 0),
    ("QAR", 2),
    ("RON", 2),
    ("RSD", 2),
    ("RUB", 2),
    ("RWF", 0),
    ("SAR", 2),
    ("SBD", 2),
    ("SCR", 2),
    ("SDG", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("SHP", 2),
    ("SLE", 2),
    ("SOS", 2),
    ("SRD", 2),
    ("SSP", 2),
    ("STN", 2),
    ("SVC", 2),
    ("SYP", 2),
    ("SZL", 2),
    ("THB", 2),
    ("TJS", 2),
    ("TMT", 2),
    ("TND", 3),
    ("TOP", 2),
    ("TRY", 2),
    ("TTD", 2),
    ("TWD", 2),
    ("TZS", 2),
    ("UAH", 2),
    ("UGX", 0),
    ("USD", 2),
    ("USN", 2),
    ("UYI", 0),
    ("UYU", 2),
    ("UYW", 4),
    ("UZS", 2),
    ("VED", 2),
    ("VES", 2),
    ("VND", 0),
    ("VUV", 0),
    ("WST", 2),
    ("XAF", 0),
    ("XCD", 2),
    ("XCG", 2),
    ("XOF", 0),
    ("XPF", 0),
    ("YER", 2),
    ("ZAR", 2),
    ("ZMW", 2),
    ("ZWG", 2),
];

// `Currency` stores a `u8` index; fail the build rather than truncate.
const _: () = assert!(CURRENCIES.len() <= u8::MAX as usize + 1);

/// An ISO 4217 currency.
///
/// A one-byte index into the static table, so it is `Copy`, cheap to hash and
/// can only ever name a known currency. Ordering is by code (the table is
/// sorted). `Display` prints the code.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency {
    idx: u8,
}

impl Currency {
    pub const USD: Currency = Currency::known("USD");
    pub const EUR: Currency = Currency::known("EUR");
    pub const GBP: Currency = Currency::known("GBP");
    pub const JPY: Currency = Currency::known("JPY");

    /// Compile-time lookup backing the associated consts; a typo is a build error.
    const fn known(code: &str) -> Currency {
        let code = code.as_bytes();
        let mut i = 0;
        while i < CURRENCIES.len() {
            let entry = CURRENCIES[i].0.as_bytes();
            if entry.len() == code.len()
                && entry[0] == code[0]
                && entry[1] == code[1]
                && entry[2] == code[2]
            {
                return Currency { idx: i as u8 };
            }
            i += 1;
        }
        panic!("currency code missing from CURRENCIES")
    }

    /// Looks up an exact ISO 4217 code. Case-sensitive on purpose: codes are
    /// stored and exchanged in upper case, and accepting `usd` here would let
    /// non-canonical spellings leak into persisted data.
    pub fn parse(code: &str) -> Result<Currency, MoneyError> {
        CURRENCIES
            .binary_search_by(|(c, _)| (*c).cmp(code))
            .map(|i| Currency { idx: i as u8 })
            .map_err(|_| MoneyError::UnknownCurrency(code.to_owned()))
    }

    /// The three-letter code, e.g. `"USD"`.
    pub fn code(&self) -> &'static str {
        CURRENCIES[usize::from(self.idx)].0
    }

    /// Number of minor-unit digits (USD 2, JPY 0, BHD 3, CLF 4).
    pub fn exponent(&self) -> u32 {
        u32::from(CURRENCIES[usize::from(self.idx)].1)
    }

    /// Every supported currency, in code order.
    pub fn all() -> impl Iterator<Item = Currency> {
        (0..CURRENCIES.len()).map(|i| Currency { idx: i as u8 })
    }
}

impl FromStr for Currency {
    type Err = MoneyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::parse(s)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.code())
    }
}

// Hand-written so debug output shows the code rather than a table index.
impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Currency").field(&self.code()).finish()
    }
}

/// An amount of money: a whole number of minor units in one currency.
///
/// Fields are private so every value is built through a constructor that has
/// already rounded or rejected excess precision. Deliberately not `Ord`:
/// comparing amounts in different currencies is meaningless.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    minor: i64,
    currency: Currency,
}

impl Money {
    /// Builds an amount from minor units (e.g. cents); always exact.
    pub fn from_minor(minor: i64, currency: Currency) -> Money {
        Money { minor, currency }
    }

    pub fn zero(currency: Currency) -> Money {
        Money::from_minor(0, currency)
    }

    /// Converts a decimal amount in major units, rounding half-up (midpoint
    /// away from zero) to the currency's exponent, the convention customers
    /// and tax authorities expect on invoices.
    pub fn from_decimal(amount: Decimal, currency: Currency) -> Result<Money, MoneyError> {
        let rounded = round_half_up(amount, currency.exponent());
        Ok(Money::from_minor(to_minor(rounded, currency)?, currency))
    }

    /// Like [`Money::from_decimal`] but refuses to round, for inputs (API
    /// payloads, stored prices) where extra decimals signal a caller error
    /// that should be surfaced rather than silently absorbed. Trailing zeros
    /// are not precision: `1.2300 USD` is accepted.
    pub fn from_decimal_exact(amount: Decimal, currency: Currency) -> Result<Money, MoneyError> {
        let exponent = currency.exponent();
        let normalized = amount.normalize();
        if normalized.scale() > exponent {
            return Err(MoneyError::TooPrecise(amount, currency, exponent));
        }
        Ok(Money::from_minor(to_minor(normalized, currency)?, currency))
    }

    pub fn minor(&self) -> i64 {
        self.minor
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// Major-unit value whose scale is the currency exponent, so `0 USD` is
    /// `0.00` and formatting never drops significant zeros.
    pub fn to_decimal(&self) -> Decimal {
        Decimal::new(self.minor, self.currency.exponent())
    }

    pub fn is_zero(&self) -> bool {
        self.minor == 0
    }

    pub fn is_negative(&self) -> bool {
        self.minor < 0
    }

    pub fn is_positive(&self) -> bool {
        self.minor > 0
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let minor = self
            .minor
            .checked_add(other.minor)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::from_minor(minor, self.currency))
    }

    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let minor = self
            .minor
            .checked_sub(other.minor)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::from_minor(minor, self.currency))
    }

    /// Fails only for `i64::MIN`, which has no positive counterpart.
    pub fn checked_neg(self) -> Result<Money, MoneyError> {
        let minor = self.minor.checked_neg().ok_or(MoneyError::Overflow)?;
        Ok(Money::from_minor(minor, self.currency))
    }

    /// `self * factor`, rounded half-up once to the currency exponent.
    ///
    /// The product is formed exactly in 192-bit integers instead of `Decimal`,
    /// whose 96-bit mantissa would round long products (e.g. a large amount
    /// times a 28-digit proration ratio) before our own rounding, and that
    /// double rounding can be off by a minor unit at the midpoint.
    pub fn checked_mul(self, factor: Decimal) -> Result<Money, MoneyError> {
        let factor_mantissa = factor.mantissa().unsigned_abs();
        let divisor = pow10(factor.scale()).ok_or(MoneyError::Overflow)?;
        let (quotient, remainder) = mul_div(self.minor.unsigned_abs(), factor_mantissa, divisor)
            .ok_or(MoneyError::Overflow)?;
        // Half-up: round the magnitude up when the dropped fraction is >= 1/2.
        let round_up = u128::from(remainder >= divisor - remainder);
        let magnitude = quotient.checked_add(round_up).ok_or(MoneyError::Overflow)?;
        let negative = (self.minor < 0) != factor.is_sign_negative();
        let minor = signed_from_magnitude(magnitude, negative).ok_or(MoneyError::Overflow)?;
        Ok(Money::from_minor(minor, self.currency))
    }

    /// Sums amounts that must all be in `currency`. Taking the currency
    /// explicitly gives an empty input a well-defined (zero) result.
    pub fn sum<I: IntoIterator<Item = Money>>(
        currency: Currency,
        items: I,
    ) -> Result<Money, MoneyError> {
        items
            .into_iter()
            .try_fold(Money::zero(currency), Money::checked_add)
    }

    /// Splits `self` across parts proportional to non-negative `weights`
    /// using the largest-remainder method, so the parts always add back up to
    /// exactly `self` (no cent is created or lost) and each part is within one
    /// minor unit of its exact share.
    ///
    /// Each part first gets `floor(|total| * w / sum)` minor units; the
    /// leftover units go one each to the parts with the largest remainders,
    /// ties to the lower index. Negative totals are split by magnitude and
    /// negated, so rounding is toward zero and mirrors the positive case.
    ///
    /// Weights are scaled to a common integer base and divided exactly. Errors
    /// when weights are empty, any is negative, all are zero, or they span
    /// such a range of magnitude and precision that the exact integer form
    /// exceeds 127 bits.
    pub fn allocate(self, weights: &[Decimal]) -> Result<Vec<Money>, MoneyError> {
        if weights.is_empty() {
            return Err(MoneyError::InvalidAllocation("no weights given"));
        }
        if weights.iter().any(|w| *w < Decimal::ZERO) {
            return Err(MoneyError::InvalidAllocation(
                "weights must not be negative",
            ));
        }
        let ints = integer_weights(weights).ok_or(MoneyError::InvalidAllocation(
            "weights are too large or too precise to divide exactly",
        ))?;
        let weight_sum = ints
            .iter()
            .try_fold(0u128, |acc, w| acc.checked_add(*w))
            .filter(|s| *s < 1 << 127)
            .ok_or(MoneyError::InvalidAllocation(
                "weights are too large or too precise to divide exactly",
            ))?;
        if weight_sum == 0 {
            return Err(MoneyError::InvalidAllocation(
                "weights must not all be zero",
            ));
        }

        let total = self.minor.unsigned_abs();
        let mut shares = Vec::with_capacity(ints.len());
        let mut remainders = Vec::with_capacity(ints.len());
        for w in &ints {
            // Each share is at most `total`, so the quotient always fits.
            let (quotient, remainder) =
                mul_div(total, *w, weight_sum).ok_or(MoneyError::Overflow)?;
            shares.push(quotient);
            remainders.push(remainder);
        }
        let distributed: u128 = shares.iter().sum();
        let leftover = u128::from(total) - distributed;

        let mut order: Vec<usize> = (0..ints.len()).collect();
        // Stable sort keeps lower indices first among equal remainders.
        order.sort_by(|&a, &b| remainders[b].cmp(&remainders[a]));
        // `leftover` < number of parts, since each remainder is < weight_sum.
        for &i in order.iter().take(leftover as usize) {
            shares[i] += 1;
        }

        let negative = self.minor < 0;
        shares
            .into_iter()
            .map(|share| {
                signed_from_magnitude(share, negative)
                    .map(|minor| Money::from_minor(minor, self.currency))
                    .ok_or(MoneyError::Overflow)
            })
            .collect()
    }

    fn same_currency(self, other: Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch(self.currency, other.currency))
        }
    }
}

/// `"24.95 USD"`, `"-0.50 EUR"`, `"1000 JPY"`: always the currency's full
/// number of decimals, so amounts line up and never look like a different value.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.to_decimal(), self.currency)
    }
}

/// Half-up (midpoint away from zero) rounding of `value` to `dp` places.
///
/// Named so call sites state the commercial rounding rule explicitly instead
/// of relying on `Decimal::round_dp`, which rounds half to even. Does not pad:
/// a value that already has at most `dp` places is returned unchanged.
pub fn round_half_up(value: Decimal, dp: u32) -> Decimal {
    value.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero)
}

/// Minor units of a decimal whose scale is already at most the exponent.
fn to_minor(amount: Decimal, currency: Currency) -> Result<i64, MoneyError> {
    let shift = currency.exponent() - amount.scale();
    // |mantissa| < 2^96 and shift <= 4, so this cannot overflow i128.
    let minor = amount.mantissa() * 10i128.pow(shift);
    i64::try_from(minor).map_err(|_| MoneyError::Overflow)
}

fn pow10(exp: u32) -> Option<u128> {
    10u128.checked_pow(exp)
}

/// Applies a sign to a magnitude, failing if the result does not fit `i64`.
fn signed_from_magnitude(magnitude: u128, negative: bool) -> Option<i64> {
    let magnitude = i128::try_from(magnitude).ok()?;
    i64::try_from(if negative { -magnitude } else { magnitude }).ok()
}

/// Non-negative weights as integers over a common power-of-ten denominator.
/// Trailing zeros are stripped first to keep the common scale small.
fn integer_weights(weights: &[Decimal]) -> Option<Vec<u128>> {
    let normalized: Vec<Decimal> = weights.iter().map(Decimal::normalize).collect();
    let scale = normalized.iter().map(Decimal::scale).max().unwrap_or(0);
    normalized
        .iter()
        .map(|w| {
            w.mantissa()
                .unsigned_abs()
                .checked_mul(pow10(scale - w.scale())?)
        })
        .collect()
}

/// Exact `floor(a * b / d)` and `(a * b) mod d` with a 192-bit intermediate.
///
/// Returns `None` when the quotient does not fit in `u128`. Requires
/// `0 < d < 2^127` so the shifted remainder cannot overflow.
fn mul_div(a: u64, b: u128, d: u128) -> Option<(u128, u128)> {
    debug_assert!(d > 0 && d < 1 << 127);
    const LOW: u128 = u64::MAX as u128;
    let a = u128::from(a);
    let low = a * (b & LOW);
    // a * (b >> 64) <= (2^64 - 1)^2, and adding a value < 2^64 stays below 2^128.
    let mid = a * (b >> 64) + (low >> 64);
    // Little-endian 64-bit limbs of the product.
    let limbs = [low as u64, mid as u64, (mid >> 64) as u64];

    let mut quotient = [0u64; 3];
    let mut remainder = 0u128;
    for limb in (0..3).rev() {
        for bit in (0..64).rev() {
            remainder = (remainder << 1) | u128::from((limbs[limb] >> bit) & 1);
            if remainder >= d {
                remainder -= d;
                quotient[limb] |= 1 << bit;
            }
        }
    }
    if quotient[2] != 0 {
        return None;
    }
    Some((
        (u128::from(quotient[1]) << 64) | u128::from(quotient[0]),
        remainder,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn usd(minor: i64) -> Money {
        Money::from_minor(minor, Currency::USD)
    }

    fn minors(parts: &[Money]) -> Vec<i64> {
        parts.iter().map(Money::minor).collect()
    }

    #[test]
    fn table_is_sorted_unique_and_well_formed() {
        assert!(CURRENCIES.windows(2).all(|w| w[0].0 < w[1].0));
        for (code, exp) in CURRENCIES {
            assert_eq!(code.len(), 3);
            assert!(code.bytes().all(|b| b.is_ascii_uppercase()));
            assert!(*exp <= 4);
        }
        assert_eq!(CURRENCIES.len(), 166);
        assert_eq!(Currency::all().count(), CURRENCIES.len());
        let all: Vec<Currency> = Currency::all().collect();
        assert!(all.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn exponents_match_iso_4217() {
        let zero = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF";
        let three = "BHD IQD JOD KWD LYD OMR TND";
        let four = "CLF UYW";
        for c in Currency::all() {
            let expected = if zero.contains(c.code()) {
                0
            } else if three.contains(c.code()) {
                3
            } else if four.contains(c.code()) {
                4
            } else {
                2
            };
            assert_eq!(c.exponent(), expected, "{c}");
        }
    }

    #[test]
    fn parse_known_codes() {
        assert_eq!(Currency::parse("USD"), Ok(Currency::USD));
        assert_eq!(Currency::USD.code(), "USD");
        assert_eq!(Currency::USD.exponent(), 2);
        assert_eq!(Currency::EUR.code(), "EUR");
        assert_eq!(Currency::GBP.code(), "GBP");
        assert_eq!(Currency::JPY.code(), "JPY");
        assert_eq!(Currency::parse("JPY").unwrap().exponent(), 0);
        assert_eq!(Currency::parse("BHD").unwrap().exponent(), 3);
        assert_eq!(Currency::parse("CLF").unwrap().exponent(), 4);
        assert_eq!("AED".parse::<Currency>().unwrap().code(), "AED");
        assert_eq!("ZWG".parse::<Currency>().unwrap().code(), "ZWG");
        assert_eq!(Currency::EUR.to_string(), "EUR");
        assert_eq!(format!("{:?}", Currency::EUR), "Currency(\"EUR\")");
        assert!(Currency::EUR < Currency::USD);
    }

    #[test]
    fn parse_rejects_unknown_or_non_canonical() {
        for bad in ["usd", "XYZ", "", "US", "USDD", " USD"] {
            assert_eq!(
                Currency::parse(bad),
                Err(MoneyError::UnknownCurrency(bad.to_owned()))
            );
        }
        assert_eq!(
            MoneyError::UnknownCurrency("usd".into()).to_string(),
            "unknown currency code `usd` (expected an ISO 4217 code such as USD)"
        );
    }

    #[test]
    fn from_decimal_rounds_half_up() {
        let cases = [
            (dec!(7.2435), Currency::USD, 724),
            (dec!(14.975), Currency::USD, 1498),
            (dec!(-14.975), Currency::USD, -1498),
            (dec!(0.005), Currency::USD, 1),
            (dec!(-0.005), Currency::USD, -1),
            (dec!(0.0049999), Currency::USD, 0),
            (dec!(24.95), Currency::USD, 2495),
            (dec!(3), Currency::USD, 300),
            (dec!(100.5), Currency::JPY, 101),
            (dec!(1.2345), Currency::parse("BHD").unwrap(), 1235),
        ];
        for (amount, currency, minor) in cases {
            assert_eq!(
                Money::from_decimal(amount, currency),
                Ok(Money::from_minor(minor, currency)),
                "{amount} {currency}"
            );
        }
    }

    #[test]
    fn from_decimal_overflow() {
        assert_eq!(
            Money::from_decimal(Decimal::MAX, Currency::USD),
            Err(MoneyError::Overflow)
        );
        assert_eq!(
            Money::from_decimal(Decimal::MIN, Currency::JPY),
            Err(MoneyError::Overflow)
        );
        // i64 bounds are reachable exactly.
        assert_eq!(
            Money::from_decimal(dec!(-92233720368547758.08), Currency::USD),
            Ok(usd(i64::MIN))
        );
        assert_eq!(
            Money::from_decimal(dec!(92233720368547758.08), Currency::USD),
            Err(MoneyError::Overflow)
        );
    }

    #[test]
    fn from_decimal_exact_refuses_to_round() {
        assert_eq!(
            Money::from_decimal_exact(dec!(1.2300), Currency::USD),
            Ok(usd(123))
        );
        assert_eq!(
            Money::from_decimal_exact(dec!(5), Currency::USD),
            Ok(usd(500))
        );
        let err = Money::from_decimal_exact(dec!(1.234), Currency::USD).unwrap_err();
        assert_eq!(err, MoneyError::TooPrecise(dec!(1.234), Currency::USD, 2));
        assert_eq!(
            err.to_string(),
            "amount 1.234 has more decimal places than USD allows (2)"
        );
        assert_eq!(
            Money::from_decimal_exact(dec!(0.5), Currency::JPY),
            Err(MoneyError::TooPrecise(dec!(0.5), Currency::JPY, 0))
        );
        assert_eq!(
            Money::from_decimal_exact(Decimal::MAX, Currency::USD),
            Err(MoneyError::Overflow)
        );
    }

    #[test]
    fn to_decimal_has_currency_scale() {
        assert_eq!(usd(2495).to_decimal(), dec!(24.95));
        assert_eq!(usd(2495).to_decimal().scale(), 2);
        assert_eq!(usd(0).to_decimal().to_string(), "0.00");
        assert_eq!(Money::from_minor(7, Currency::JPY).to_decimal().scale(), 0);
    }

    #[test]
    fn predicates() {
        assert!(Money::zero(Currency::EUR).is_zero());
        assert!(usd(-1).is_negative() && !usd(-1).is_positive());
        assert!(usd(1).is_positive() && !usd(1).is_zero());
    }

    #[test]
    fn add_sub_neg_are_checked() {
        assert_eq!(usd(150).checked_add(usd(-50)), Ok(usd(100)));
        assert_eq!(usd(150).checked_sub(usd(200)), Ok(usd(-50)));
        assert_eq!(usd(i64::MAX).checked_add(usd(1)), Err(MoneyError::Overflow));
        assert_eq!(usd(i64::MIN).checked_sub(usd(1)), Err(MoneyError::Overflow));
        assert_eq!(usd(i64::MIN).checked_neg(), Err(MoneyError::Overflow));
        assert_eq!(usd(5).checked_neg(), Ok(usd(-5)));
        let eur = Money::from_minor(1, Currency::EUR);
        let err = usd(1).checked_add(eur).unwrap_err();
        assert_eq!(
            err,
            MoneyError::CurrencyMismatch(Currency::USD, Currency::EUR)
        );
        assert_eq!(err.to_string(), "currency mismatch: USD vs EUR");
        assert_eq!(
            usd(1).checked_sub(eur),
            Err(MoneyError::CurrencyMismatch(Currency::USD, Currency::EUR))
        );
    }

    #[test]
    fn mul_rounds_once_half_up() {
        assert_eq!(usd(1000).checked_mul(dec!(0.0725)), Ok(usd(73))); // 72.5
        assert_eq!(usd(-1000).checked_mul(dec!(0.0725)), Ok(usd(-73)));
        assert_eq!(usd(1000).checked_mul(dec!(-0.0725)), Ok(usd(-73)));
        assert_eq!(usd(1000).checked_mul(dec!(0.07249)), Ok(usd(72)));
        assert_eq!(usd(999).checked_mul(dec!(1)), Ok(usd(999)));
        assert_eq!(usd(999).checked_mul(Decimal::ZERO), Ok(usd(0)));
        assert_eq!(
            usd(i64::MAX).checked_mul(dec!(2)),
            Err(MoneyError::Overflow)
        );
        assert_eq!(usd(i64::MIN).checked_mul(dec!(1)), Ok(usd(i64::MIN)));
        assert_eq!(
            usd(i64::MIN).checked_mul(dec!(-1)),
            Err(MoneyError::Overflow)
        );
        // 10^12 * (1/3 to 28 places): the exact product has 40 significant
        // digits, more than Decimal holds; we still round it exactly once.
        let third = dec!(0.3333333333333333333333333333);
        assert_eq!(
            usd(1_000_000_000_000).checked_mul(third),
            Ok(usd(333_333_333_333))
        );
        let two_thirds = dec!(0.6666666666666666666666666667);
        assert_eq!(
            usd(1_000_000_000_000).checked_mul(two_thirds),
            Ok(usd(666_666_666_667))
        );
        // Exactly at the midpoint after 28 decimals.
        assert_eq!(
            usd(1).checked_mul(dec!(0.5000000000000000000000000000)),
            Ok(usd(1))
        );
        assert_eq!(
            usd(1).checked_mul(dec!(0.4999999999999999999999999999)),
            Ok(usd(0))
        );
    }

    #[test]
    fn sum_checks_currency_and_overflow() {
        assert_eq!(Money::sum(Currency::USD, []), Ok(usd(0)));
        assert_eq!(
            Money::sum(Currency::USD, [usd(1), usd(2), usd(3)]),
            Ok(usd(6))
        );
        assert_eq!(
            Money::sum(Currency::USD, [usd(1), Money::from_minor(2, Currency::EUR)]),
            Err(MoneyError::CurrencyMismatch(Currency::USD, Currency::EUR))
        );
        assert_eq!(
            Money::sum(Currency::EUR, [usd(1)]),
            Err(MoneyError::CurrencyMismatch(Currency::EUR, Currency::USD))
        );
        assert_eq!(
            Money::sum(Currency::USD, [usd(i64::MAX), usd(1)]),
            Err(MoneyError::Overflow)
        );
    }

    #[test]
    fn display() {
        assert_eq!(usd(2495).to_string(), "24.95 USD");
        assert_eq!(
            Money::from_minor(-50, Currency::EUR).to_string(),
            "-0.50 EUR"
        );
        assert_eq!(
            Money::from_minor(1000, Currency::JPY).to_string(),
            "1000 JPY"
        );
        let bhd = Currency::parse("BHD").unwrap();
        assert_eq!(Money::from_minor(1250, bhd).to_string(), "1.250 BHD");
        assert_eq!(usd(0).to_string(), "0.00 USD");
        assert_eq!(usd(i64::MIN).to_string(), "-92233720368547758.08 USD");
    }

    #[test]
    fn round_half_up_is_away_from_zero() {
        assert_eq!(round_half_up(dec!(2.5), 0), dec!(3));
        assert_eq!(round_half_up(dec!(-2.5), 0), dec!(-3));
        assert_eq!(round_half_up(dec!(0.125), 2), dec!(0.13));
        assert_eq!(round_half_up(dec!(1.5), 2), dec!(1.5));
    }

    #[test]
    fn allocate_by_largest_remainder() {
        let ones = [dec!(1), dec!(1), dec!(1)];
        assert_eq!(minors(&usd(100).allocate(&ones).unwrap()), [34, 33, 33]);
        assert_eq!(minors(&usd(-100).allocate(&ones).unwrap()), [-34, -33, -33]);
        assert_eq!(minors(&usd(2).allocate(&ones).unwrap()), [1, 1, 0]);
        let parts = usd(1000)
            .allocate(&[dec!(0.5), dec!(0.25), dec!(0.25)])
            .unwrap();
        assert_eq!(parts, [usd(500), usd(250), usd(250)]);
        // Largest remainder wins over index: shares 3.3, 3.3, 3.4 -> 3, 3, 4.
        assert_eq!(
            minors(&usd(10).allocate(&[dec!(33), dec!(33), dec!(34)]).unwrap()),
            [3, 3, 4]
        );
        // Zero weights get nothing; mixed scales are fine.
        assert_eq!(
            minors(&usd(7).allocate(&[dec!(0), dec!(1.5), dec!(0.50)]).unwrap()),
            [0, 5, 2]
        );
        assert_eq!(minors(&usd(0).allocate(&ones).unwrap()), [0, 0, 0]);
        assert_eq!(
            minors(&usd(i64::MIN).allocate(&[dec!(1)]).unwrap()),
            [i64::MIN]
        );
        let parts = usd(i64::MAX).allocate(&[Decimal::MAX, dec!(1)]).unwrap();
        assert_eq!(Money::sum(Currency::USD, parts), Ok(usd(i64::MAX)));
    }

    #[test]
    fn allocate_rejects_bad_weights() {
        let cases: [(&[Decimal], &str); 4] = [
            (&[], "no weights given"),
            (&[dec!(-1)], "weights must not be negative"),
            (&[dec!(0), dec!(0)], "weights must not all be zero"),
            (
                &[Decimal::MAX, dec!(0.0000000000000000000000000001)],
                "weights are too large or too precise to divide exactly",
            ),
        ];
        for (weights, msg) in cases {
            assert_eq!(
                usd(100).allocate(weights),
                Err(MoneyError::InvalidAllocation(msg))
            );
        }
        assert_eq!(
            MoneyError::InvalidAllocation("no weights given").to_string(),
            "cannot allocate: no weights given"
        );
    }

    #[test]
    fn mul_div_matches_small_cases() {
        assert_eq!(mul_div(7, 3, 2), Some((10, 1)));
        assert_eq!(mul_div(u64::MAX, u128::MAX, 1), None);
        assert_eq!(
            mul_div(u64::MAX, u128::from(u64::MAX), u128::from(u64::MAX)),
            Some((u128::from(u64::MAX), 0))
        );
    }
}
