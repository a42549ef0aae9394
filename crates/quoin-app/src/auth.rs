//! API keys and roles. A key is `qk_<public id>_<secret>`: the id is stored in clear to find
//! the key, the secret only as a SHA-256 hash (keys are random, so a fast hash is enough).

use rand::distributions::Alphanumeric;
use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::error::{AppError, AppResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Sales,
    Billing,
    Support,
    ReadOnly,
}

impl Role {
    pub fn code(&self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Sales => "sales",
            Role::Billing => "billing",
            Role::Support => "support",
            Role::ReadOnly => "read_only",
        }
    }

    pub fn parse(code: &str) -> Option<Role> {
        [
            Role::Admin,
            Role::Sales,
            Role::Billing,
            Role::Support,
            Role::ReadOnly,
        ]
        .into_iter()
        .find(|r| r.code() == code)
    }

    /// What each role may do. Reading is open to every role.
    pub fn allows(&self, action: Action) -> bool {
        use Action::*;
        match self {
            Role::Admin => true,
            Role::Billing => matches!(
                action,
                Read | WriteAccounts | WriteCatalog | WriteSubscriptions | Bill | TestClock
            ),
            Role::Sales => matches!(action, Read | WriteAccounts | WriteSubscriptions),
            Role::Support => matches!(action, Read | WriteAccounts),
            Role::ReadOnly => matches!(action, Read),
        }
    }
}

/// Things a caller may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Read,
    WriteAccounts,
    WriteCatalog,
    WriteSubscriptions,
    Bill,
    TestClock,
    ManageKeys,
}

/// The authenticated caller: a key of one tenant with one role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub tenant_id: String,
    pub key_id: String,
    pub role: Role,
}

impl Principal {
    pub fn require(&self, action: Action) -> AppResult<()> {
        if self.role.allows(action) {
            Ok(())
        } else {
            Err(AppError::Forbidden {
                code: "forbidden",
                message: format!(
                    "the {} role may not perform this action ({action:?})",
                    self.role.code()
                ),
            })
        }
    }
}

/// A freshly generated key: the full secret exists only here and in the response.
pub(crate) struct GeneratedKey {
    pub id: String,
    pub secret_hash: String,
    pub full_key: String,
}

pub(crate) fn generate_key() -> GeneratedKey {
    let mut rng = rand::thread_rng();
    let public: String = (&mut rng)
        .sample_iter(&Alphanumeric)
        .take(12)
        .map(|c| char::from(c).to_ascii_lowercase())
        .collect();
    let secret: String = (&mut rng)
        .sample_iter(&Alphanumeric)
        .take(40)
        .map(char::from)
        .collect();
    let id = format!("qk_{public}");
    GeneratedKey {
        secret_hash: hash_secret(&secret),
        full_key: format!("{id}_{secret}"),
        id,
    }
}

pub(crate) fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Splits `qk_<id>_<secret>` into the public id and the secret.
pub(crate) fn split_key(key: &str) -> Option<(&str, &str)> {
    let (id, secret) = key.rsplit_once('_')?;
    (id.starts_with("qk_") && !secret.is_empty()).then_some((id, secret))
}

/// Compares two hashes without an early exit on the first differing byte.
pub(crate) fn same_hash(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_split_and_verify() {
        let k = generate_key();
        let (id, secret) = split_key(&k.full_key).unwrap();
        assert_eq!(id, k.id);
        assert!(same_hash(&hash_secret(secret), &k.secret_hash));
        assert!(!same_hash(&hash_secret("nope"), &k.secret_hash));
        assert_eq!(split_key("bearer"), None);
    }

    #[test]
    fn read_only_cannot_write_and_admin_can_everything() {
        assert!(!Role::ReadOnly.allows(Action::WriteAccounts));
        assert!(Role::ReadOnly.allows(Action::Read));
        assert!(!Role::Sales.allows(Action::Bill));
        assert!(!Role::Billing.allows(Action::ManageKeys));
        assert!(Role::Admin.allows(Action::ManageKeys));
        assert_eq!(Role::parse("read_only"), Some(Role::ReadOnly));
    }
}
