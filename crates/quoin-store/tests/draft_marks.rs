//! Draft marks under concurrency, on both backends: ingest transactions mark their bill-to
//! accounts (`mark_draft_usage`) while billing touches the drafts of the accounts it
//! invoiced (`touch_drafts`), the same accounts in each. Both must lock the draft rows in
//! one order (by account id) whatever order the rows lie in on disk, or two of them can
//! each hold a row the other waits for (PostgreSQL then fails one with a deadlock); and
//! every mark and touch must count.

use std::time::Duration;

use quoin_store::Store;

macro_rules! both_backends {
    ($($case:ident),+ $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let t = quoin_store::testing::sqlite().await;
                super::$case(&t.store).await;
                t.cleanup().await;
            })+
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some(t) = quoin_store::testing::postgres().await else { return };
                super::$case(&t.store).await;
                t.cleanup().await;
            })+
        }
    };
}

both_backends!(marks_and_touches_of_the_same_accounts_neither_deadlock_nor_get_lost);

const TENANT: &str = "ten-marks";
const ACCOUNTS: usize = 150;
const ROUNDS: usize = 15;
/// Transactions of each kind running at once.
const WRITERS: usize = 3;

async fn marks_and_touches_of_the_same_accounts_neither_deadlock_nor_get_lost(store: &Store) {
    let accounts: Vec<String> = (0..ACCOUNTS).map(|i| format!("acc{i:04}")).collect();
    let sorted: Vec<&str> = accounts.iter().map(String::as_str).collect();
    // The draft rows are created from the last account to the first, so on disk they lie
    // in the reverse of the id order.
    for acc in sorted.iter().rev() {
        let mut tx = store.begin().await.unwrap();
        tx.mark_draft_usage(TENANT, &[acc], 1).await.unwrap();
        tx.commit().await.unwrap();
    }
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..2 * WRITERS {
        let (store, accounts) = (store.clone(), accounts.clone());
        tasks.spawn(async move {
            let ids: Vec<&str> = accounts.iter().map(String::as_str).collect();
            for round in 0..ROUNDS {
                let mut tx = store.begin().await?;
                if w % 2 == 0 {
                    // As ingestion passes them: sorted.
                    tx.mark_draft_usage(TENANT, &ids, round as i64).await?;
                } else {
                    // As a billing page passes them: in its own order.
                    let mut page = ids.clone();
                    page.rotate_left(round * 7 % ACCOUNTS);
                    tx.touch_drafts(TENANT, &page).await?;
                }
                tx.commit().await?;
            }
            Ok::<_, quoin_store::StoreError>(())
        });
    }
    let all = tokio::time::timeout(Duration::from_secs(120), tasks.join_all())
        .await
        .expect("every transaction finished");
    for r in all {
        r.expect("no transaction fails");
    }
    // One for the creating mark, one per mark or touch transaction.
    let mut tx = store.read().await.unwrap();
    for acc in &accounts {
        let row = tx.get_draft(TENANT, acc).await.unwrap().unwrap();
        assert_eq!(
            row.usage_version,
            1 + (2 * WRITERS * ROUNDS) as i64,
            "{acc}"
        );
    }
    tx.commit().await.unwrap();
}
