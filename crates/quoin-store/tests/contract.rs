//! One contract suite, run against SQLite and PostgreSQL. Each case is a function over a
//! migrated [`Store`]; `contract_cases!` makes a `sqlite::case` and a `postgres::case` test.

use quoin_store::repo::{AccountFilter, DefinitionTable, InvoiceFilter, NewEvent};
use quoin_store::rows::*;
use quoin_store::{new_id, testing, Store};

macro_rules! contract_cases {
    ($($case:ident),+ $(,)?) => {
        mod sqlite {
            $(#[tokio::test]
            async fn $case() {
                let t = quoin_store::testing::sqlite().await;
                super::$case(&t.store).await;
                t.cleanup().await;
            })+
        }
        mod postgres {
            $(#[tokio::test]
            async fn $case() {
                let Some(t) = quoin_store::testing::postgres().await else { return };
                super::$case(&t.store).await;
                t.cleanup().await;
            })+
        }
    };
}

contract_cases!(
    tenants_and_keys,
    accounts_round_trip_and_filters,
    cursor_pagination_visits_every_row_once,
    tenant_scope_hides_other_tenants,
    sequences_are_gapless_across_rollback,
    invoice_lines_repairs_and_inventory,
    finalize_only_moves_drafts,
    outbox_events_commit_with_the_change,
    idempotency_claims_once,
    catalog_entries_upsert_by_code,
    outbox_ids_become_visible_in_commit_order,
);

async fn tenant(store: &Store, id: &str) {
    let mut tx = store.begin().await.unwrap();
    tx.insert_tenant(&TenantRow {
        id: id.into(),
        name: format!("Tenant {id}"),
        time_zone: "UTC".into(),
        clock_mode: "system".into(),
        test_now_us: None,
        created_at_us: 1,
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

fn account(tenant: &str, id: &str, name: &str, kind: &str) -> AccountRow {
    AccountRow {
        id: id.into(),
        tenant_id: tenant.into(),
        kind: kind.into(),
        name: name.into(),
        email: Some(format!("{id}@example.com")),
        external_id: None,
        parent_id: None,
        bill_to_id: id.into(),
        ban: format!("BAN-{id}"),
        currency: "USD".into(),
        bill_cycle_day: Some(25),
        alignment: "calendar".into(),
        proration: "actual_days".into(),
        payment_terms_days: 30,
        time_zone: "UTC".into(),
        status: "active".into(),
        created_at_us: 10,
        updated_at_us: 10,
        termination_day: "excluded".into(),
    }
}

async fn insert_accounts(store: &Store, rows: &[AccountRow]) {
    let mut tx = store.begin().await.unwrap();
    for r in rows {
        tx.insert_account(r).await.unwrap();
    }
    tx.commit().await.unwrap();
}

async fn tenants_and_keys(store: &Store) {
    tenant(store, "ten_a").await;
    let mut tx = store.begin().await.unwrap();
    let key = ApiKeyRow {
        id: "qk_abc".into(),
        tenant_id: "ten_a".into(),
        name: "ops".into(),
        role: "admin".into(),
        secret_hash: "h".into(),
        created_at_us: 5,
        revoked_at_us: None,
    };
    tx.insert_api_key(&key).await.unwrap();
    assert!(tx
        .set_tenant_clock("ten_a", Some(1_632_000_000_000_000))
        .await
        .unwrap());
    tx.commit().await.unwrap();

    let mut tx = store.read().await.unwrap();
    assert_eq!(tx.find_api_key("qk_abc").await.unwrap(), Some(key.clone()));
    let t = tx.get_tenant("ten_a").await.unwrap().unwrap();
    assert_eq!(
        (t.clock_mode.as_str(), t.test_now_us),
        ("test", Some(1_632_000_000_000_000))
    );
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    assert!(tx.revoke_api_key("ten_a", "qk_abc", 9).await.unwrap());
    assert!(!tx.revoke_api_key("ten_a", "qk_abc", 10).await.unwrap());
    assert_eq!(
        tx.list_api_keys("ten_a").await.unwrap()[0].revoked_at_us,
        Some(9)
    );
    tx.commit().await.unwrap();
}

async fn accounts_round_trip_and_filters(store: &Store) {
    tenant(store, "ten_a").await;
    let parent = account("ten_a", "acc_1", "Acme Holdings", "business");
    let mut child = account("ten_a", "acc_2", "Acme Branch", "business");
    child.parent_id = Some("acc_1".into());
    child.bill_to_id = "acc_1".into();
    child.bill_cycle_day = None;
    let person = account("ten_a", "acc_3", "Jane Doe", "person");
    insert_accounts(store, &[parent.clone(), child.clone(), person]).await;

    let mut tx = store.read().await.unwrap();
    assert_eq!(tx.get_account("ten_a", "acc_2").await.unwrap(), Some(child));
    let f = AccountFilter {
        kind: Some("person".into()),
        ..Default::default()
    };
    let page = tx.list_accounts("ten_a", &f, None, 10).await.unwrap();
    assert_eq!(
        page.items.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(),
        ["acc_3"]
    );
    let f = AccountFilter {
        bill_to_id: Some("acc_1".into()),
        ..Default::default()
    };
    let page = tx.list_accounts("ten_a", &f, None, 10).await.unwrap();
    assert_eq!(page.items.len(), 2);
    let f = AccountFilter {
        name_contains: Some("ACME".into()),
        ..Default::default()
    };
    assert_eq!(
        tx.list_accounts("ten_a", &f, None, 10)
            .await
            .unwrap()
            .items
            .len(),
        2
    );
    tx.commit().await.unwrap();

    // The name search is literal: LIKE wildcards in it match only themselves.
    let mut tx = store.begin().await.unwrap();
    tx.insert_account(&account("ten_a", "acc_4", "50% Off_Shop", "business"))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    for (q, want) in [
        ("50%", vec!["acc_4"]),
        ("_", vec!["acc_4"]),
        ("%", vec!["acc_4"]),
        ("a%c", vec![]),
    ] {
        let f = AccountFilter {
            name_contains: Some(q.into()),
            ..Default::default()
        };
        let ids: Vec<String> = tx
            .list_accounts("ten_a", &f, None, 10)
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|a| a.id)
            .collect();
        assert_eq!(ids, want, "search {q:?}");
    }
    tx.commit().await.unwrap();

    // BAN is unique per tenant.
    let mut tx = store.begin().await.unwrap();
    let mut dup = account("ten_a", "acc_9", "Dup", "person");
    dup.ban = parent.ban.clone();
    let err = tx.insert_account(&dup).await.unwrap_err();
    assert!(err.is_unique_violation(), "{err}");
}

async fn cursor_pagination_visits_every_row_once(store: &Store) {
    tenant(store, "ten_a").await;
    let rows: Vec<AccountRow> = (0..7)
        .map(|i| account("ten_a", &new_id("acc"), &format!("A{i}"), "person"))
        .collect();
    insert_accounts(store, &rows).await;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut tx = store.read().await.unwrap();
    loop {
        let page = tx
            .list_accounts("ten_a", &AccountFilter::default(), cursor.as_deref(), 3)
            .await
            .unwrap();
        assert!(page.items.len() <= 3);
        seen.extend(page.items.into_iter().map(|a| a.id));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let mut want: Vec<String> = rows.into_iter().map(|a| a.id).collect();
    want.sort();
    assert_eq!(seen, want);
}

async fn tenant_scope_hides_other_tenants(store: &Store) {
    tenant(store, "ten_a").await;
    tenant(store, "ten_b").await;
    insert_accounts(store, &[account("ten_a", "acc_a", "A", "person")]).await;
    let mut tx = store.read().await.unwrap();
    assert_eq!(tx.get_account("ten_b", "acc_a").await.unwrap(), None);
    let page = tx
        .list_accounts("ten_b", &AccountFilter::default(), None, 10)
        .await
        .unwrap();
    assert!(page.items.is_empty());
    let counts = tx.row_counts("ten_b").await.unwrap();
    assert!(counts.iter().all(|(_, n)| *n == 0), "{counts:?}");
}

async fn sequences_are_gapless_across_rollback(store: &Store) {
    tenant(store, "ten_a").await;
    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        tx.next_sequence_value("ten_a", "invoice", 1).await.unwrap(),
        1
    );
    assert_eq!(
        tx.next_sequence_value("ten_a", "invoice", 1).await.unwrap(),
        2
    );
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        tx.next_sequence_value("ten_a", "invoice", 1).await.unwrap(),
        3
    );
    tx.rollback().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        tx.next_sequence_value("ten_a", "invoice", 1).await.unwrap(),
        3
    );
    assert_eq!(
        tx.next_sequence_value("ten_a", "ban", 1000).await.unwrap(),
        1000
    );
    tx.commit().await.unwrap();
}

async fn billing_fixture(store: &Store) {
    tenant(store, "ten_a").await;
    insert_accounts(store, &[account("ten_a", "acc_1", "A", "person")]).await;
    let mut tx = store.begin().await.unwrap();
    tx.insert_product(&ProductRow {
        id: "prd_1".into(),
        tenant_id: "ten_a".into(),
        code: "fiber-100".into(),
        name: "Fiber 100".into(),
        status: "active".into(),
        created_at_us: 1,
        kind: "service".into(),
        category_code: None,
        definition: "{}".into(),
        updated_at_us: 1,
    })
    .await
    .unwrap();
    tx.insert_price(&PriceRow {
        id: "pri_1".into(),
        tenant_id: "ten_a".into(),
        product_id: "prd_1".into(),
        currency: "USD".into(),
        amount: "24.95".into(),
        period: "month".into(),
        timing: "in_advance".into(),
        created_at_us: 1,
        code: "fiber-100-monthly".into(),
        version: 1,
        effective_from: None,
        price_type: "recurring".into(),
        price_book: None,
        definition: "{}".into(),
    })
    .await
    .unwrap();
    tx.insert_subscription(&SubscriptionRow {
        id: "sub_1".into(),
        tenant_id: "ten_a".into(),
        account_id: "acc_1".into(),
        bill_to_id: "acc_1".into(),
        product_id: "prd_1".into(),
        price_id: "pri_1".into(),
        quantity: "1".into(),
        start_date: "2021-09-16".into(),
        status: "active".into(),
        billed_through: None,
        created_at_us: 1,
        external_id: Some("CRM-1".into()),
        parent_id: None,
        location_id: None,
        end_date: None,
        term_code: None,
        term_start: None,
        term_end: None,
        end_of_term: None,
        coterminate: 0,
        operational_status: None,
        version: 1,
        reconcile_from: None,
        updated_at_us: 1,
        progressive_threshold: None,
        minimum_commitment: None,
    })
    .await
    .unwrap();
    tx.insert_subscription_item(&SubscriptionItemRow {
        id: "itm_1".into(),
        tenant_id: "ten_a".into(),
        subscription_id: "sub_1".into(),
        usage_key: Some("ORD-1".into()),
        position: 0,
        billed_through: None,
        created_at_us: 1,
        usage_reconcile_from: None,
    })
    .await
    .unwrap();
    tx.insert_item_segment(&segment("2021-09-16", None))
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

fn segment(start: &str, end: Option<&str>) -> ItemSegmentRow {
    ItemSegmentRow {
        tenant_id: "ten_a".into(),
        item_id: "itm_1".into(),
        subscription_id: "sub_1".into(),
        start_date: start.into(),
        end_date: end.map(Into::into),
        price_id: "pri_1".into(),
        quantity: "1".into(),
        unit_amount: None,
        version: 1,
    }
}

fn invoice(id: &str, date: &str) -> InvoiceRow {
    InvoiceRow {
        id: id.into(),
        tenant_id: "ten_a".into(),
        account_id: "acc_1".into(),
        currency: "USD".into(),
        status: "draft".into(),
        number: None,
        invoice_date: date.into(),
        due_date: "2021-10-16".into(),
        period_start: date.into(),
        period_end: "2021-09-25".into(),
        total_minor: 724,
        created_at_us: 2,
        finalized_at_us: None,
        subtotal_minor: 724,
        discount_minor: 0,
        tax_minor: 0,
    }
}

fn line(id: &str, invoice: &str, period_start: &str) -> InvoiceLineRow {
    InvoiceLineRow {
        id: id.into(),
        tenant_id: "ten_a".into(),
        invoice_id: invoice.into(),
        position: 0,
        kind: "recurring".into(),
        subscription_id: Some("sub_1".into()),
        item_id: Some("itm_1".into()),
        price_id: Some("pri_1".into()),
        description: "Fiber 100".into(),
        period_start: period_start.into(),
        period_end: "2021-09-25".into(),
        full_start: Some("2021-08-25".into()),
        full_end: Some("2021-09-25".into()),
        quantity: "1".into(),
        unit_amount: "24.95".into(),
        proration_num: 9,
        proration_den: 31,
        amount_minor: 724,
        repairs_line_id: None,
        discount_minor: 0,
        tax_minor: 0,
        detail: "{}".into(),
    }
}

async fn invoice_lines_repairs_and_inventory(store: &Store) {
    billing_fixture(store).await;
    let mut tx = store.begin().await.unwrap();
    tx.insert_invoice(&invoice("inv_1", "2021-09-16"))
        .await
        .unwrap();
    tx.insert_invoice_line(&line("lin_1", "inv_1", "2021-09-16"))
        .await
        .unwrap();
    tx.set_billed_through("ten_a", "sub_1", "2021-09-25")
        .await
        .unwrap();
    tx.commit().await.unwrap();

    // A period can be repaired (credited) and billed again after a plan change back; the
    // lines reconciliation reads are the live ones of the subscription.
    let mut tx = store.begin().await.unwrap();
    tx.insert_invoice(&invoice("inv_3", "2021-09-16"))
        .await
        .unwrap();
    let mut repair = line("lin_2", "inv_3", "2021-09-16");
    repair.kind = "repair".into();
    repair.amount_minor = -724;
    repair.repairs_line_id = Some("lin_1".into());
    tx.insert_invoice_line(&repair).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    let live = tx
        .subscription_lines_after("ten_a", "sub_1", "2021-09-20")
        .await
        .unwrap();
    assert_eq!(live, vec![line("lin_1", "inv_1", "2021-09-16"), repair]);
    assert!(tx
        .subscription_lines_after("ten_a", "sub_1", "2021-09-25")
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        tx.last_finalized_invoice_date("ten_a", "sub_1")
            .await
            .unwrap(),
        None
    );
    let item = tx
        .item_by_usage_key("ten_a", "ORD-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(item.id, "itm_1");
    let by_ext = tx
        .subscription_by_external_id("ten_a", "CRM-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_ext.id, "sub_1");
    assert_eq!(
        tx.subscription_segments("ten_a", "sub_1").await.unwrap(),
        vec![segment("2021-09-16", None)]
    );
    tx.commit().await.unwrap();

    let mut tx = store.read().await.unwrap();
    let sub = tx
        .get_subscription("ten_a", "sub_1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sub.billed_through.as_deref(), Some("2021-09-25"));
    let lines = tx.invoice_lines("ten_a", "inv_1").await.unwrap();
    assert_eq!(lines, vec![line("lin_1", "inv_1", "2021-09-16")]);
    let f = InvoiceFilter {
        account_id: Some("acc_1".into()),
        status: Some("draft".into()),
    };
    let page = tx.list_invoices("ten_a", &f, None, 10).await.unwrap();
    assert_eq!(
        page.items,
        vec![
            invoice("inv_1", "2021-09-16"),
            invoice("inv_3", "2021-09-16")
        ]
    );
}

async fn finalize_only_moves_drafts(store: &Store) {
    billing_fixture(store).await;
    let mut tx = store.begin().await.unwrap();
    tx.insert_invoice(&invoice("inv_1", "2021-09-16"))
        .await
        .unwrap();
    assert!(tx
        .finalize_invoice("ten_a", "inv_1", "INV-000001", 50)
        .await
        .unwrap());
    assert!(!tx
        .finalize_invoice("ten_a", "inv_1", "INV-000002", 60)
        .await
        .unwrap());
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    let inv = tx.get_invoice("ten_a", "inv_1").await.unwrap().unwrap();
    assert_eq!(
        (
            inv.status.as_str(),
            inv.number.as_deref(),
            inv.finalized_at_us
        ),
        ("finalized", Some("INV-000001"), Some(50))
    );
}

async fn outbox_events_commit_with_the_change(store: &Store) {
    tenant(store, "ten_a").await;
    let event = |id: &'static str| NewEvent {
        tenant_id: "ten_a",
        topic: "account.created",
        aggregate_type: "account",
        aggregate_id: id,
        payload: format!("{{\"id\":\"{id}\"}}"),
        at_us: 7,
    };
    let mut tx = store.begin().await.unwrap();
    tx.insert_account(&account("ten_a", "acc_1", "A", "person"))
        .await
        .unwrap();
    tx.record_event(&event("acc_1")).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    tx.insert_account(&account("ten_a", "acc_2", "B", "person"))
        .await
        .unwrap();
    tx.record_event(&event("acc_2")).await.unwrap();
    tx.rollback().await.unwrap();

    let mut tx = store.read().await.unwrap();
    let events = tx.list_events("ten_a", 0, 10).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].aggregate_id, "acc_1");
    assert_eq!(events[0].payload, "{\"id\":\"acc_1\"}");
    assert!(tx.get_account("ten_a", "acc_2").await.unwrap().is_none());
}

async fn idempotency_claims_once(store: &Store) {
    tenant(store, "ten_a").await;
    let mut tx = store.begin().await.unwrap();
    assert!(tx
        .claim_idempotency("ten_a", "k1", "h1", 1, 0, 0)
        .await
        .unwrap());
    assert!(!tx
        .claim_idempotency("ten_a", "k1", "h2", 2, 0, 0)
        .await
        .unwrap());
    tx.complete_idempotency("ten_a", "k1", 201, "{}")
        .await
        .unwrap();
    assert!(tx
        .claim_idempotency("ten_a", "k2", "h1", 1, 0, 0)
        .await
        .unwrap());
    // An expired key (created before the cut-off) is forgotten and can be claimed afresh.
    assert!(tx
        .claim_idempotency("ten_a", "k3", "old", 5, 0, 0)
        .await
        .unwrap());
    assert!(tx
        .claim_idempotency("ten_a", "k3", "new", 100, 10, 0)
        .await
        .unwrap());
    // An abandoned in-flight claim (no response yet, older than the cut-off) is taken over.
    assert!(tx
        .claim_idempotency("ten_a", "k4", "first", 5, 0, 0)
        .await
        .unwrap());
    assert!(!tx
        .claim_idempotency("ten_a", "k4", "second", 6, 0, 5)
        .await
        .unwrap());
    assert!(tx
        .claim_idempotency("ten_a", "k4", "third", 50, 0, 10)
        .await
        .unwrap());
    tx.release_idempotency("ten_a", "k2").await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    let row = tx.get_idempotency("ten_a", "k1").await.unwrap().unwrap();
    assert_eq!(
        (row.request_hash.as_str(), row.status_code),
        ("h1", Some(201))
    );
    assert!(tx.get_idempotency("ten_a", "k2").await.unwrap().is_none());
    assert_eq!(
        tx.get_idempotency("ten_a", "k3")
            .await
            .unwrap()
            .unwrap()
            .request_hash,
        "new"
    );
    assert!(tx.get_idempotency("ten_b", "k1").await.unwrap().is_none());
}

#[test]
fn ids_are_prefixed_and_ordered() {
    let a = new_id("acc");
    let b = new_id("acc");
    assert!(a.starts_with("acc_") && a.len() == 36);
    assert!(a < b);
    let _ = testing::postgres_url();
}

async fn catalog_entries_upsert_by_code(store: &Store) {
    tenant(store, "ten_a").await;
    tenant(store, "ten_b").await;
    let metric = |name: &str, def: &str| DefinitionRow {
        id: new_id("met"),
        tenant_id: "ten_a".into(),
        code: "api_calls".into(),
        name: name.into(),
        definition: def.into(),
        updated_at_us: 3,
    };
    let mut tx = store.begin().await.unwrap();
    tx.upsert_definition(
        DefinitionTable::Metrics,
        &metric("API calls", "{\"aggregation\":\"count\"}"),
    )
    .await
    .unwrap();
    tx.upsert_definition(
        DefinitionTable::Metrics,
        &metric("API requests", "{\"aggregation\":\"sum\"}"),
    )
    .await
    .unwrap();
    tx.upsert_price_book(&PriceBookRow {
        id: new_id("pbk"),
        tenant_id: "ten_a".into(),
        code: "residential-usd".into(),
        name: "Residential".into(),
        currency: "USD".into(),
        segment: Some("residential".into()),
        updated_at_us: 3,
    })
    .await
    .unwrap();
    tx.upsert_category(&CategoryRow {
        id: new_id("cat"),
        tenant_id: "ten_a".into(),
        code: "broadband".into(),
        name: "Broadband".into(),
        parent_code: None,
        updated_at_us: 3,
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.read().await.unwrap();
    let metrics = tx
        .list_definitions(DefinitionTable::Metrics, "ten_a")
        .await
        .unwrap();
    assert_eq!(metrics.len(), 1);
    assert_eq!(metrics[0].name, "API requests");
    assert_eq!(metrics[0].definition, "{\"aggregation\":\"sum\"}");
    assert!(tx
        .list_definitions(DefinitionTable::Terms, "ten_a")
        .await
        .unwrap()
        .is_empty());
    assert!(tx
        .list_definitions(DefinitionTable::Metrics, "ten_b")
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        tx.list_price_books("ten_a").await.unwrap()[0]
            .segment
            .as_deref(),
        Some("residential")
    );
    assert_eq!(
        tx.list_categories("ten_a").await.unwrap()[0].name,
        "Broadband"
    );
    assert!(tx.list_categories("ten_b").await.unwrap().is_empty());
}

async fn outbox_ids_become_visible_in_commit_order(store: &Store) {
    tenant(store, "ten_a").await;
    let event = |id: &'static str| NewEvent {
        tenant_id: "ten_a",
        topic: "account.updated",
        aggregate_type: "account",
        aggregate_id: id,
        payload: "{}".into(),
        at_us: 1,
    };
    let mut first = store.begin().await.unwrap();
    first.record_event(&event("first")).await.unwrap();
    // A second writer cannot slip an event (with a later id) in ahead of the first commit.
    let other = store.clone();
    let second = tokio::spawn(async move {
        let mut tx = other.begin().await.unwrap();
        tx.record_event(&event("second")).await.unwrap();
        tx.commit().await.unwrap();
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let mut r = store.read().await.unwrap();
    assert!(r.list_events("ten_a", 0, 10).await.unwrap().is_empty());
    r.commit().await.unwrap();
    first.commit().await.unwrap();
    second.await.unwrap();
    let mut r = store.read().await.unwrap();
    let seen: Vec<String> = r
        .list_events("ten_a", 0, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.aggregate_id)
        .collect();
    assert_eq!(seen, ["first", "second"]);
}
