//! Tenants and their API keys.

use quoin_store::new_id;
use quoin_store::rows::{ApiKeyRow, TenantRow};

use crate::auth::{generate_key, hash_secret, same_hash, split_key, Action, Principal, Role};
use crate::clock::{from_us, to_us};
use crate::error::{AppError, AppResult};
use crate::events::emit;
use crate::model::{ApiKey, CreateApiKey, IssuedApiKey};
use crate::{validate, App};

/// A tenant just created, with its first admin key (shown once).
#[derive(Debug, Clone)]
pub struct NewTenant {
    pub tenant_id: String,
    pub name: String,
    pub admin_key: IssuedApiKey,
}

fn key_view(row: &ApiKeyRow) -> AppResult<ApiKey> {
    Ok(ApiKey {
        id: row.id.clone(),
        name: row.name.clone(),
        role: Role::parse(&row.role)
            .ok_or_else(|| AppError::Internal(format!("stored role `{}`", row.role)))?,
        created_at: from_us(row.created_at_us),
        revoked_at: row.revoked_at_us.map(from_us),
    })
}

impl App {
    /// Creates a tenant and an admin key for it. An operator action (CLI), not an API call.
    pub async fn create_tenant(&self, name: &str, time_zone: &str) -> AppResult<NewTenant> {
        let name = validate::text("name", name, 200)?;
        validate::time_zone("time_zone", time_zone)?;
        let now = to_us(self.clock.now());
        let tenant_id = new_id("ten");
        let mut tx = self.store.begin().await?;
        tx.insert_tenant(&TenantRow {
            id: tenant_id.clone(),
            name: name.clone(),
            time_zone: time_zone.to_string(),
            clock_mode: "system".into(),
            test_now_us: None,
            created_at_us: now,
        })
        .await?;
        let admin_key = self
            .insert_key(&mut tx, &tenant_id, "admin", Role::Admin, now)
            .await?;
        tx.commit().await?;
        Ok(NewTenant {
            tenant_id,
            name,
            admin_key,
        })
    }

    async fn insert_key(
        &self,
        tx: &mut quoin_store::Tx,
        tenant: &str,
        name: &str,
        role: Role,
        now_us: i64,
    ) -> AppResult<IssuedApiKey> {
        let key = generate_key();
        tx.insert_api_key(&ApiKeyRow {
            id: key.id.clone(),
            tenant_id: tenant.to_string(),
            name: name.to_string(),
            role: role.code().to_string(),
            secret_hash: key.secret_hash,
            created_at_us: now_us,
            revoked_at_us: None,
        })
        .await?;
        Ok(IssuedApiKey {
            id: key.id,
            name: name.to_string(),
            role,
            key: key.full_key,
        })
    }

    /// Resolves a presented key to its tenant and role.
    pub async fn authenticate(&self, presented: &str) -> AppResult<Principal> {
        let (id, secret) = split_key(presented.trim()).ok_or(AppError::Unauthenticated)?;
        let mut tx = self.store.read().await?;
        let row = tx.find_api_key(id).await?;
        tx.commit().await?;
        let row = row.ok_or(AppError::Unauthenticated)?;
        if row.revoked_at_us.is_some() || !same_hash(&hash_secret(secret), &row.secret_hash) {
            return Err(AppError::Unauthenticated);
        }
        let role = Role::parse(&row.role).ok_or(AppError::Unauthenticated)?;
        Ok(Principal {
            tenant_id: row.tenant_id,
            key_id: row.id,
            role,
        })
    }

    /// Principal acting as the tenant's administrator, for operator tools (CLI, demo).
    pub async fn operator(&self, tenant: &str) -> AppResult<Principal> {
        let mut tx = self.store.read().await?;
        let found = tx.get_tenant(tenant).await?;
        tx.commit().await?;
        found.ok_or_else(|| AppError::not_found("tenant", tenant))?;
        Ok(Principal {
            tenant_id: tenant.to_string(),
            key_id: "operator".into(),
            role: Role::Admin,
        })
    }

    /// All tenants (operator use).
    pub async fn list_tenants(&self) -> AppResult<Vec<TenantRow>> {
        let mut tx = self.store.read().await?;
        let rows = tx.list_tenants().await?;
        tx.commit().await?;
        Ok(rows)
    }

    pub async fn create_api_key(
        &self,
        p: &Principal,
        input: CreateApiKey,
    ) -> AppResult<IssuedApiKey> {
        p.require(Action::ManageKeys)?;
        let name = validate::text("name", &input.name, 100)?;
        let now = to_us(self.clock.now());
        let mut tx = self.store.begin().await?;
        let issued = self
            .insert_key(&mut tx, &p.tenant_id, &name, input.role, now)
            .await?;
        // The event names the key, never its secret.
        let event = serde_json::json!({"id": issued.id, "name": issued.name, "role": issued.role, "by": p.key_id});
        emit(
            &mut tx,
            &p.tenant_id,
            "api_key.created",
            "api_key",
            &issued.id,
            &event,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(issued)
    }

    pub async fn list_api_keys(&self, p: &Principal) -> AppResult<Vec<ApiKey>> {
        p.require(Action::ManageKeys)?;
        let mut tx = self.store.read().await?;
        let rows = tx.list_api_keys(&p.tenant_id).await?;
        tx.commit().await?;
        rows.iter().map(key_view).collect()
    }

    pub async fn revoke_api_key(&self, p: &Principal, id: &str) -> AppResult<ApiKey> {
        p.require(Action::ManageKeys)?;
        let now = to_us(self.clock.now());
        let mut tx = self.store.begin().await?;
        if !tx.revoke_api_key(&p.tenant_id, id, now).await? {
            let exists = tx
                .list_api_keys(&p.tenant_id)
                .await?
                .into_iter()
                .any(|k| k.id == id);
            return Err(if exists {
                AppError::Conflict {
                    code: "already_revoked",
                    message: format!("API key `{id}` is already revoked"),
                }
            } else {
                AppError::not_found("api key", id)
            });
        }
        let row = tx
            .list_api_keys(&p.tenant_id)
            .await?
            .into_iter()
            .find(|k| k.id == id)
            .ok_or_else(|| AppError::not_found("api key", id))?;
        let view = key_view(&row)?;
        let event = serde_json::json!({"id": view.id, "name": view.name, "role": view.role, "by": p.key_id});
        emit(
            &mut tx,
            &p.tenant_id,
            "api_key.revoked",
            "api_key",
            id,
            &event,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(view)
    }
}
