//! A real Quoin router over a real store (SQLite file or PostgreSQL schema), driven with
//! HTTP requests in-process.

#![allow(dead_code)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use quoin_app::{App, Mode, SystemClock};
use quoin_store::testing::TestStore;
use serde_json::Value;
use tower::ServiceExt;

pub struct TestApi {
    pub router: Router,
    pub app: App,
    pub db: TestStore,
    /// Admin key of tenant A.
    pub key: String,
    pub tenant: String,
}

pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
    pub headers: axum::http::HeaderMap,
}

impl TestApi {
    pub async fn new(db: TestStore, mode: Mode) -> TestApi {
        let app = App::new(db.store.clone(), Arc::new(SystemClock), mode);
        let t = app.create_tenant("Tenant A", "UTC").await.unwrap();
        TestApi {
            router: quoin_server::router(app.clone()),
            app,
            db,
            key: t.admin_key.key,
            tenant: t.tenant_id,
        }
    }

    /// A second tenant's admin key.
    pub async fn other_tenant(&self) -> String {
        self.app
            .create_tenant("Tenant B", "UTC")
            .await
            .unwrap()
            .admin_key
            .key
    }

    pub async fn send(&self, req: Request<Body>) -> Reply {
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Reply {
            status,
            body,
            headers,
        }
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut b = Request::builder().method(method).uri(path);
        if let Some(k) = key {
            b = b.header("authorization", format!("Bearer {k}"));
        }
        let req = match body {
            Some(v) => b
                .header("content-type", "application/json")
                .body(Body::from(v.to_string())),
            None => b.body(Body::empty()),
        };
        self.send(req.unwrap()).await
    }

    pub async fn raw(&self, method: &str, path: &str, body: &str) -> Reply {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {}", self.key))
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        self.send(req).await
    }

    /// A raw body with its own content type.
    pub async fn raw_ct(&self, method: &str, path: &str, body: &str, content_type: &str) -> Reply {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {}", self.key))
            .header("content-type", content_type)
            .body(Body::from(body.to_string()))
            .unwrap();
        self.send(req).await
    }

    /// Starts an invoice run as the tenant's operator, billing as of `as_of` with `chain`
    /// (`None`: the default chain); answers the run's id.
    pub async fn start_run(
        &self,
        as_of: &str,
        chain: Option<Vec<quoin_app::model::RunStep>>,
    ) -> String {
        let p = self.app.operator(&self.tenant).await.unwrap();
        let start = quoin_app::model::StartInvoiceRun {
            as_of: Some(as_of.parse().unwrap()),
            chain,
        };
        self.app.create_invoice_run(&p, start).await.unwrap().id
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.call("GET", path, Some(&self.key), None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.call("POST", path, Some(&self.key), Some(body)).await
    }

    /// POST that must succeed with `want`; returns the body.
    pub async fn post_ok(&self, path: &str, body: Value, want: u16) -> Value {
        let r = self.post(path, body).await;
        assert_eq!(r.status.as_u16(), want, "POST {path}: {}", r.body);
        r.body
    }

    /// Row counts of every table of tenant A (to prove that rejected input wrote nothing).
    pub async fn counts(&self) -> Vec<(&'static str, i64)> {
        let mut tx = self.db.store.read().await.unwrap();
        let c = tx.row_counts(&self.tenant).await.unwrap();
        tx.commit().await.unwrap();
        c
    }

    pub async fn cleanup(self) {
        self.db.cleanup().await;
    }
}

/// Runs each named case against SQLite and PostgreSQL.
#[macro_export]
macro_rules! on_both_stores {
    ($($case:ident),+ $(,)?) => {
        mod sqlite {
            $(#[tokio::test]
            async fn $case() {
                let db = quoin_store::testing::sqlite().await;
                super::$case(db).await;
            })+
        }
        mod postgres {
            $(#[tokio::test]
            async fn $case() {
                let Some(db) = quoin_store::testing::postgres().await else { return };
                super::$case(db).await;
            })+
        }
    };
}
