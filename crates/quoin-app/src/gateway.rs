//! Payment gateways: where a card (or other token) is charged. Only the deterministic
//! [`TestGateway`] exists so far; it is available outside production mode.

use std::future::Future;
use std::pin::Pin;

use quoin_core::money::Money;

/// A successful charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charge {
    /// The gateway's id of the charge.
    pub reference: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// The issuer refused; retrying the same token will not help.
    #[error("declined ({code}): {message}")]
    Declined { code: String, message: String },
    /// The gateway could not be reached or failed; the charge did not happen.
    #[error("gateway unavailable: {0}")]
    Transient(String),
}

pub type ChargeFuture<'a> = Pin<Box<dyn Future<Output = Result<Charge, GatewayError>> + Send + 'a>>;

pub trait PaymentGateway: Send + Sync {
    fn name(&self) -> &'static str;

    /// Charges `amount` to `token`. `key` identifies the attempt so the gateway can
    /// de-duplicate retries.
    fn charge<'a>(&'a self, token: &'a str, amount: Money, key: &'a str) -> ChargeFuture<'a>;
}

/// Deterministic tokens: `tok_visa` (and any other `tok_…`) succeeds, `tok_declined` and
/// `tok_insufficient_funds` decline, `tok_error` fails transiently.
#[derive(Debug, Clone, Copy, Default)]
pub struct TestGateway;

impl PaymentGateway for TestGateway {
    fn name(&self) -> &'static str {
        "test"
    }

    fn charge<'a>(&'a self, token: &'a str, amount: Money, key: &'a str) -> ChargeFuture<'a> {
        Box::pin(async move {
            match token {
                "tok_declined" => Err(GatewayError::Declined {
                    code: "card_declined".into(),
                    message: "the card was declined".into(),
                }),
                "tok_insufficient_funds" => Err(GatewayError::Declined {
                    code: "insufficient_funds".into(),
                    message: format!("insufficient funds for {}", amount.to_decimal()),
                }),
                "tok_error" => Err(GatewayError::Transient(
                    "the test gateway simulated a timeout".into(),
                )),
                t if t.starts_with("tok_") => Ok(Charge {
                    reference: format!("ch_test_{key}"),
                }),
                _ => Err(GatewayError::Declined {
                    code: "invalid_token".into(),
                    message: format!("unknown payment method `{token}`"),
                }),
            }
        })
    }
}
