use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use quoin_app::model::*;
use quoin_store::repo::AccountFilter;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Caller};
use crate::AppState;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AccountQuery {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    /// business or person
    pub kind: Option<AccountKind>,
    pub parent_id: Option<String>,
    pub bill_to_id: Option<String>,
    pub external_id: Option<String>,
    /// Case-insensitive part of the name.
    pub q: Option<String>,
}

#[utoipa::path(operation_id = "createAccount", post, path = "/v1/accounts", tag = "accounts", request_body = CreateAccount,
    responses((status = 201, body = Account), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiJson(body): ApiJson<CreateAccount>,
) -> ApiResult<(StatusCode, Json<Account>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.create_account(&p, body).await?),
    ))
}

#[utoipa::path(operation_id = "listAccounts", get, path = "/v1/accounts", tag = "accounts", params(AccountQuery),
    responses((status = 200, body = AccountPage), (status = 400, body = ErrorBody)))]
pub async fn list(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiQuery(q): ApiQuery<AccountQuery>,
) -> ApiResult<Json<AccountPage>> {
    let filter = AccountFilter {
        kind: q.kind.map(|k| match k {
            AccountKind::Business => "business".to_string(),
            AccountKind::Person => "person".to_string(),
        }),
        parent_id: q.parent_id.clone(),
        bill_to_id: q.bill_to_id.clone(),
        external_id: q.external_id.clone(),
        name_contains: q.q.clone(),
    };
    let page = ListParams {
        limit: q.limit,
        cursor: q.cursor.clone(),
    };
    Ok(Json(s.app.list_accounts(&p, filter, &page).await?))
}

#[utoipa::path(operation_id = "getAccount", get, path = "/v1/accounts/{id}", tag = "accounts", params(("id" = String, Path)),
    responses((status = 200, body = Account), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Account>> {
    Ok(Json(s.app.get_account(&p, &id).await?))
}

#[utoipa::path(operation_id = "addContact", post, path = "/v1/accounts/{id}/contacts", tag = "accounts", params(("id" = String, Path)), request_body = CreateContact,
    responses((status = 201, body = Contact), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_contact(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CreateContact>,
) -> ApiResult<(StatusCode, Json<Contact>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.add_contact(&p, &id, body).await?),
    ))
}

#[utoipa::path(operation_id = "listContacts", get, path = "/v1/accounts/{id}/contacts", tag = "accounts", params(("id" = String, Path)),
    responses((status = 200, body = Vec<Contact>), (status = 404, body = ErrorBody)))]
pub async fn list_contacts(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<Contact>>> {
    Ok(Json(s.app.list_contacts(&p, &id).await?))
}

#[utoipa::path(operation_id = "addLocation", post, path = "/v1/accounts/{id}/locations", tag = "accounts", params(("id" = String, Path)), request_body = CreateLocation,
    responses((status = 201, body = Location), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_location(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CreateLocation>,
) -> ApiResult<(StatusCode, Json<Location>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.add_location(&p, &id, body).await?),
    ))
}

#[utoipa::path(operation_id = "listLocations", get, path = "/v1/accounts/{id}/locations", tag = "accounts", params(("id" = String, Path)),
    responses((status = 200, body = Vec<Location>), (status = 404, body = ErrorBody)))]
pub async fn list_locations(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<Location>>> {
    Ok(Json(s.app.list_locations(&p, &id).await?))
}

#[utoipa::path(operation_id = "updateAccount", patch, path = "/v1/accounts/{id}", tag = "accounts", params(("id" = String, Path)), request_body = UpdateAccount,
    responses((status = 200, body = Account), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UpdateAccount>,
) -> ApiResult<Json<Account>> {
    Ok(Json(s.app.update_account(&p, &id, body).await?))
}
