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

/// A successful refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayRefund {
    /// The gateway's id of the refund.
    pub reference: String,
}

pub type RefundFuture<'a> =
    Pin<Box<dyn Future<Output = Result<GatewayRefund, GatewayError>> + Send + 'a>>;

pub trait PaymentGateway: Send + Sync {
    fn name(&self) -> &'static str;

    /// Charges `amount` to `token`. `key` identifies the attempt so the gateway can
    /// de-duplicate retries.
    fn charge<'a>(&'a self, token: &'a str, amount: Money, key: &'a str) -> ChargeFuture<'a>;

    /// Returns `amount` of the charge `charge` (its reference) to the payer. `key`
    /// identifies the refund so retries are not paid twice.
    fn refund<'a>(&'a self, charge: &'a str, amount: Money, key: &'a str) -> RefundFuture<'a>;
}

/// Deterministic tokens: `tok_visa` (and any other `tok_…`) succeeds, `tok_declined` and
/// `tok_insufficient_funds` decline, `tok_error` fails transiently. Refunds succeed, except
/// of charges made with `tok_no_refunds` (the issuer refuses them).
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
                "tok_no_refunds" => Ok(Charge {
                    reference: format!("ch_test_norefund_{key}"),
                }),
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

    fn refund<'a>(&'a self, charge: &'a str, amount: Money, key: &'a str) -> RefundFuture<'a> {
        Box::pin(async move {
            if charge.starts_with("ch_test_norefund_") {
                return Err(GatewayError::Declined {
                    code: "refund_refused".into(),
                    message: format!("the issuer refused to refund {}", amount.to_decimal()),
                });
            }
            if !charge.starts_with("ch_test_") {
                return Err(GatewayError::Declined {
                    code: "unknown_charge".into(),
                    message: format!("no test charge `{charge}`"),
                });
            }
            Ok(GatewayRefund {
                reference: format!("re_test_{key}"),
            })
        })
    }
}
